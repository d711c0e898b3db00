"""One contract test module per port of core/ports.py, each run on SQLite and PostgreSQL (the `backend` fixture)."""

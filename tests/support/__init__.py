"""Real parts the tests start: a PostgreSQL server, fleetscan server processes, protocol clients."""

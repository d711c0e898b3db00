"""The Alembic history is one line, and it builds exactly the schema the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from fleetscan.storage import open_storage
from fleetscan.storage.migrate import alembic_config
from fleetscan.storage.schema import metadata


def test_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    storage = open_storage(database_url)
    try:
        with storage.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        storage.dispose()

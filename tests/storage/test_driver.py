"""storage/driver.py: statements on the driver's cursor keep SQLAlchemy's error kinds and the savepoint's promise."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from fleetscan.storage.driver import DriverStatement, savepoint
from fleetscan.storage.schema import accounts
from fleetscan.storage.sql import open_storage


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it_and_a_savepoint_undoes_only_its_block(
    database_url: str,
) -> None:
    storage = open_storage(database_url)
    try:
        add = DriverStatement(insert(accounts).values(name=bindparam("name"), created_at=0), storage.engine)
        names = DriverStatement(select(accounts.c.name).where(accounts.c.name == bindparam("name")), storage.engine)
        with storage.engine.begin() as conn:
            add.run(conn, {"name": "kept"})
            with pytest.raises(IntegrityError) as caught, savepoint(conn):
                add.run(conn, {"name": "undone"})
                add.run(conn, {"name": "kept"})  # the same name again: the unique constraint refuses it
            assert isinstance(caught.value, DBAPIError)  # what the group commit tells the database's trouble by
            assert names.first(conn, {"name": "undone"}) is None
            assert names.first(conn, {"name": "kept"}) == {"name": "kept"}
            add.run(conn, {"name": "after"})  # the transaction goes on after the savepoint's rollback
        with storage.engine.connect() as conn:
            assert {r[0] for r in conn.execute(select(accounts.c.name))} >= {"kept", "after"}
    finally:
        storage.dispose()


def test_a_pipelined_write_is_one_transaction_and_gives_its_connection_back_as_it_found_it(database_url: str) -> None:
    """driver.Pipeline: statements sent several at a time, BEGIN with the first and COMMIT with the last, are still
    one transaction (an error in a later block undoes an earlier one, raised as SQLAlchemy raises it), and the
    pooled connection (in autocommit mode meanwhile, on PostgreSQL) goes back to the pool out of it."""
    storage = open_storage(database_url)
    try:
        add = DriverStatement(insert(accounts).values(name=bindparam("name"), created_at=0), storage.engine)
        names = DriverStatement(select(accounts.c.name).where(accounts.c.name == bindparam("name")), storage.engine)
        with pytest.raises(IntegrityError), storage._write_pipelined() as (conn, pipeline):
            with pipeline.together():
                add.run(conn, {"name": "undone"})
            with pipeline.together(commit=True):
                add.run(conn, {"name": "twice"})
                add.run(conn, {"name": "twice"})  # the unique constraint refuses it, in the pipeline
        with storage._write_pipelined() as (conn, pipeline):
            with pipeline.together():
                before = names.rows(names.run(conn, {"name": "kept"}))
            with pipeline.together(commit=True):
                add.run(conn, {"name": "kept"})
        assert before == []
        with storage.engine.connect() as conn:
            assert {r[0] for r in conn.execute(select(accounts.c.name))} & {"undone", "twice", "kept"} == {"kept"}
            if not storage.is_sqlite:
                assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        storage.dispose()

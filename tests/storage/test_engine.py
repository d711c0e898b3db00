"""storage/engine.py: a pooled PostgreSQL connection that sat idle across a database restart is not lent broken."""

from __future__ import annotations

import time

from sqlalchemy import text

from fleetscan.storage.engine import PING_AFTER_IDLE_SECONDS, make_engine
from tests.support.postgres import PostgresServer


def test_an_idle_pooled_connection_is_checked_and_replaced_after_a_restart() -> None:
    postgres = PostgresServer()  # its own cluster: the session's stays up for the other tests
    postgres.start()
    engine = make_engine(postgres.new_database())
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        postgres.pause()
        postgres.resume()  # the pooled connection's backend is gone
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        with engine.connect() as conn:  # the check finds it broken: the pool lends a new one, no error
            after = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert after != before
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()
        postgres.stop()

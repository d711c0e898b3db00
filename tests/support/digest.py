"""What a server's database holds, read straight from it, to prove that a refused request changed nothing.

A `Digest` reads every table the database has (reflected, so tables added later are covered without
editing this file), each row as a tuple, minus the few things that legitimately change on a request the
server refuses. Two snapshots compare equal when nothing else changed; `changes` says which tables did.

Left out, and why that is sound:

- table `nonces`: every signed request that passes the signature check spends its nonce *before* the
  operation looks at a parameter, so that a replay is refused even when the first try was refused. A nonce
  is read by nothing but the replay check, so it cannot carry a refused request's effect anywhere else.
- column `hosts.last_seen`: every call an enrolled agent authenticates (a malformed report included) proves
  the agent alive, and the server notes when. It feeds only the online indicator.
- table `alembic_version`: the schema revision; no request writes it (left out only to keep diffs short).

Kept, on purpose: `agent_reports` (a report's idempotency key). It is written in the report's own
transaction, so a refused report must leave none behind: a key stored for a report that was not applied
would make the agent's corrected retry a silent "duplicate". Same for `client_token` columns.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import Engine

EXCLUDED_TABLES = frozenset({"nonces", "alembic_version"})
EXCLUDED_COLUMNS = frozenset({("hosts", "last_seen")})

Rows = frozenset[tuple[object, ...]]


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, Rows]

    def changes(self, later: Snapshot) -> list[str]:
        """One line per table that differs: rows gone, rows new (a changed row counts as one of each)."""
        out = []
        for name in sorted(set(self.tables) | set(later.tables)):
            before, after = self.tables.get(name, frozenset()), later.tables.get(name, frozenset())
            if before != after:
                out.append(f"{name}: -{len(before - after)} +{len(after - before)} rows")
        return out

    def fingerprint(self) -> str:
        text = repr(sorted((name, sorted(map(repr, rows))) for name, rows in self.tables.items()))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Digest:
    """Reads a database (an SQLAlchemy URL: a SQLite file or PostgreSQL) the server writes to."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)  # reflect once: the server migrated the schema when it started

    def snapshot(self) -> Snapshot:
        tables: dict[str, Rows] = {}
        with self.engine.connect() as conn:
            for name, table in sorted(self.metadata.tables.items()):
                if name in EXCLUDED_TABLES:
                    continue
                columns = [c for c in table.columns if (name, c.name) not in EXCLUDED_COLUMNS]
                tables[name] = frozenset(tuple(map(_hashable, row)) for row in conn.execute(select(*columns)))
        return Snapshot(tables)

    def close(self) -> None:
        self.engine.dispose()


def _hashable(value: object) -> object:
    """JSON columns come back as lists and dicts: compare them by their canonical text."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value

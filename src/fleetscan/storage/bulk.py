"""Set-based statements over many rows, the rows passed as one JSON parameter: one statement for a whole batch.

A batch of agent reports (`TasksSql.change_subtasks`) writes dozens of rows of the same tables. Written one
statement per row, each statement is a round trip to PostgreSQL, and on SQLite a release and re-take of the GIL
while the database's one write lock is held: under load the event loop takes the GIL in between, and the batch
held the lock several times longer than its work (py-spy: a third of the writer thread's time waiting for the
GIL). Here the rows travel as one JSON array and the database unpacks it: `json_each` on SQLite, a typed
`jsonb_to_recordset` on PostgreSQL, so a batch's writes are a few statements whatever its size.

The statements are text built once per table and dialect from the table's own columns (their types type the
record on PostgreSQL); `rows_param` encodes the rows. JSON columns travel as nested JSON and are stored as JSON;
booleans as JSON's, stored as SQLite's integers or PostgreSQL's booleans.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

__all__ = ["JsonRows", "ids_param", "in_ids", "rows_param"]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def rows_param(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as the statements of `JsonRows` take them: one JSON array of objects."""
    return json.dumps(list(rows), separators=(",", ":"))


def in_ids(column: str, param: str, is_sqlite: bool, integers: bool = True) -> str:
    """`column` is one of the ids (integers, or else strings) of the parameter `param`, as `ids_param` makes it:
    any number of them in one parameter, where an IN list binds one parameter each.

    On PostgreSQL `= ANY(array)`, which is planned as index lookups. A subquery over a JSON array is planned for
    100 rows whatever it holds, and against a table its statistics still call small (a new database filling up,
    autoanalyze behind) that made a hash join over the whole table, on every report batch: seen with
    auto_explain during `bench/fleet.py`."""
    if is_sqlite:
        return f"{column} IN (SELECT value FROM json_each(:{param}))"
    return f"{column} = ANY(CAST(:{param} AS {'bigint' if integers else 'text'}[]))"


def ids_param(ids: Iterable[int] | Iterable[str], is_sqlite: bool) -> Any:
    """The ids, distinct and sorted, as `in_ids` takes them: a JSON array for SQLite, an array for PostgreSQL."""
    values: list[Any] = sorted(set(ids))
    return json.dumps(values) if is_sqlite else values


class JsonRows:
    """The rows of the parameter `:rows` (or `param`) as a relation `v` with `fields` (columns of `table`, or
    `extra` ones)."""

    def __init__(
        self, table: Table, fields: Sequence[str], is_sqlite: bool, extra: Mapping[str, str] = {}, param: str = "rows"
    ) -> None:
        self.table, self.fields, self.is_sqlite = table, list(fields), is_sqlite
        self.extra = dict(extra)  # field -> PostgreSQL type, for fields that are not the table's columns
        self.param = param  # the parameter's name: statements joined in one take one parameter each

    def source(self) -> str:
        """The FROM item: `v`, one row per object of `:rows`."""
        if self.is_sqlite:
            return f"json_each(:{self.param}) AS v"
        typed = ", ".join(f"{name} {self._pg_type(name)}" for name in self.fields)
        return f"jsonb_to_recordset(CAST(:{self.param} AS jsonb)) AS v({typed})"

    def field(self, name: str) -> str:
        """The expression of one field of `v`."""
        return f"json_extract(v.value, '$.{name}')" if self.is_sqlite else f"v.{name}"

    def _pg_type(self, name: str) -> str:
        if name in self.extra:
            return self.extra[name]
        return str(self.table.c[name].type.compile(dialect=_PG))

    def update(self, key: str, by: str, sets: Mapping[str, str] | None = None, where: str = "") -> str:
        """UPDATE of the table from the rows, each row matched by column `key` = field `by`: of its `fields` (but
        `by`) to their values, or of `sets` (column -> field); only where `where` holds too, if given."""
        name = self.table.name
        pairs = sets if sets is not None else {f: f for f in self.fields if f != by}
        assigned = ", ".join(f"{column} = {self.field(f)}" for column, f in pairs.items())
        sql = f"UPDATE {name} SET {assigned} FROM {self.source()} WHERE {name}.{key} = {self.field(by)}"
        return sql + (f" AND ({where})" if where else "")

    def insert(self, returning: Sequence[str] = ()) -> str:
        """INSERT of the rows (every field a column); a row whose key is already there is left out."""
        columns = ", ".join(self.fields)
        values = ", ".join(self.field(f) for f in self.fields)
        # SQLite's parser needs the WHERE to tell the upsert's ON from a join's
        sql = f"INSERT INTO {self.table.name} ({columns}) SELECT {values} FROM {self.source()} WHERE true"
        sql += " ON CONFLICT DO NOTHING"
        return sql + (f" RETURNING {', '.join(returning)}" if returning else "")

    def matching(self, columns: Sequence[str], lock: bool | str = False) -> str:
        """SELECT of `columns` of the table's rows equal to a row of `:rows` on every field (at most one each: the
        fields are a unique key), locked in the order of `:rows` with `lock` (PostgreSQL): `FOR UPDATE`, or the
        lock clause given (`FOR NO KEY UPDATE`, which an UPDATE of columns no foreign key points at takes, does not
        keep other transactions from inserting rows that refer to the locked ones).

        On PostgreSQL each row is looked up by its own LATERAL subquery, which OFFSET 0 keeps from being merged
        into a join: the lookups use the key's index whatever the table's statistics say (see `in_ids`)."""
        name = self.table.name
        on = " AND ".join(f"t.{f} = {self.field(f)}" for f in self.fields)
        picked = ", ".join("t." + c for c in columns)
        if self.is_sqlite:
            return f"SELECT {picked} FROM {self.source()} JOIN {name} AS t ON {on}"
        clause = "" if not lock else " FOR UPDATE" if lock is True else f" {lock}"
        each = f"SELECT {picked} FROM {name} AS t WHERE {on} OFFSET 0{clause}"
        return f"SELECT {picked} FROM {self.source()} CROSS JOIN LATERAL ({each}) AS t"

"""The listing benchmark at a tiny size: it runs end to end on both backends and compares the same pages.

No time is asserted: only that the figure lines come out, that the seeded rows are what the server itself would
have written, and that the benchmark refuses to time two sides that return different pages.
"""

from __future__ import annotations

import re

import pytest
from bench.api_list import (
    ApiPage,
    BareQuery,
    BareSql,
    Mismatch,
    Mix,
    SqlPage,
    check_same_page,
    hss_mixes,
    main,
    sas_mixes,
)
from bench.seed import seed
from sqlalchemy import select

from fleetscan.core.models import Scope
from fleetscan.core.queries import HostMatch, Page, RootFilter, SubtaskFilter
from fleetscan.core.states import RootStatus
from fleetscan.storage.schema import root_tasks
from fleetscan.storage.sql import open_storage

TINY = ["--roots", "200", "--subtasks-per-root", "10", "--hosts", "100", "--requests", "3", "--limit", "20"]
LINE = re.compile(
    r"^(sqlite|postgresql) +(hss|sas) +\S+ +api p50 +[\d.]+ms p99 +[\d.]+ms +[\d.]+ req/s \| "
    r"sql p50 +[\d.]+ms p99 +[\d.]+ms +[\d.]+ req/s \| api/sql +[\d.]+x \| "
    r"cpu/req api +[\d.]+ms sql +[\d.]+ms +[\d.]+x \| rows \d+ of \d+$"
)


def test_benchmark_prints_a_figure_line_per_mix(backend: str, database_url: str) -> None:
    lines: list[str] = []
    results = main([*TINY, "--backend", backend, "--database-url", database_url], out=lines.append)
    assert lines[0].startswith("# fleetscan listing benchmark: 200 roots, 2000 subtasks, 100 hosts")
    figures = [line for line in lines if not line.startswith("#")]
    assert len(figures) == len(results) == 12  # 5 HSS mixes, 7 Sas mixes
    for line in figures:
        assert LINE.match(line), line
        assert line.startswith(backend)
    assert {r.mix.dialect for r in results} == {"hss", "sas"}
    # The mixes select something: a benchmark of empty pages would measure nothing.
    assert all(r.rows > 0 for r in results), [(r.mix.name, r.rows) for r in results]
    deep = next(r for r in results if r.mix.dialect == "hss" and r.mix.name.startswith("offset-"))
    assert deep.mix.params["offset"] == 100 and deep.rows == 20


def test_seeded_roots_agree_with_their_subtasks(database_url: str) -> None:
    """Every root's status, counts, progress and totals are what TasksSql._refresh_root derives."""
    seeded = seed(database_url, roots=150, subtasks_per_root=7, n_hosts=40)
    assert (seeded.roots, seeded.subtasks, seeded.hosts) == (150, 1050, 40)
    storage = open_storage(database_url, migrate=False)
    try:
        with storage.engine.connect() as conn:
            tx = conn.begin()
            before = {r.id: r for r in conn.execute(select(root_tasks))}
            for root_id in before:
                storage._refresh_root(conn, root_id)
            after = {r.id: r for r in conn.execute(select(root_tasks))}
            tx.rollback()
        assert before == after
        statuses = {RootStatus(r.status) for r in before.values()}
        assert {RootStatus.SUCCEEDED, RootStatus.FAILED, RootStatus.CANCELLED} <= statuses
    finally:
        storage.dispose()


def test_bare_sql_pages_equal_the_storage_pages(database_url: str) -> None:
    """The hand-written SELECTs return the pages the listings' storage returns, for every mix."""
    seeded = seed(database_url, roots=300, subtasks_per_root=5, n_hosts=60)
    storage = open_storage(database_url, migrate=False)
    key = storage.get_access_key(seeded.access_key_id)
    assert key is not None
    bare = BareSql(database_url, key.scope.account_id, seeded.project_id)
    scope = Scope(key.scope.account_id, seeded.project_id)
    try:
        for mix in [*hss_mixes(seeded, 20), *sas_mixes(seeded, 20)]:
            q = mix.bare
            page = Page(q.offset, q.limit)
            got = bare.fetch(q)
            if q.kind == "roots":
                flt = RootFilter(
                    paid=q.paid,
                    statuses=frozenset(RootStatus(s) for s in q.root_statuses) if q.root_statuses else None,
                    start_from=q.start_from,
                    start_to=q.start_to,
                    hosts=HostMatch(host_name=q.host_name),
                )
                found = storage.task_page(scope, flt, page, with_hosts=q.with_hosts)
                assert (got.total, got.task_ids) == (found.total, [r.task_id for r in found.roots]), mix.name
                if q.with_hosts:
                    hosts = {r.task_id: sorted(h.host_id for h in found.hosts[r.id]) for r in found.roots}
                    assert {t: sorted(h) for t, h in got.host_ids.items()} == {t: h for t, h in hosts.items() if h}
            else:
                sflt = SubtaskFilter(hosts=HostMatch(host_name=q.host_name), start_from=q.start_from)
                total, machines = storage.machine_page(scope, sflt, page)
                assert (got.total, got.task_ids) == (total, [m.host.subtask_id for m in machines]), mix.name
            assert got.task_ids, mix.name
    finally:
        bare.close()
        storage.dispose()


def test_different_pages_are_refused() -> None:
    mix = Mix("hss", "m", {}, BareQuery("roots", 0, 20, with_hosts=True))
    sql = SqlPage(2, ["a", "b"], {"a": ["h1"], "b": ["h2"]})
    check_same_page(mix, sql, ApiPage(2, ["a", "b"], {"a": ["h1"], "b": ["h2"]}))
    with pytest.raises(Mismatch):
        check_same_page(mix, sql, ApiPage(2, ["b", "a"], {"a": ["h1"], "b": ["h2"]}))
    with pytest.raises(Mismatch):
        check_same_page(mix, sql, ApiPage(2, ["a", "b"], {"a": ["h1", "h3"], "b": ["h2"]}))

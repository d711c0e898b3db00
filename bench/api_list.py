"""Listing benchmark: ListAntiVirusTask (Huawei HSS) and ListVirusScanTask (Alibaba Sas) against bare SQL.

Seeds a large fleet (bench.seed), starts a real `fleetscan server` on it, and for each filter mix times the same page
fetched two ways in the same run: through the HTTP API, and by the SELECTs a hand-written implementation would run
(same driver, same process as this script, rows fetched as tuples, nothing rendered). It prints p50/p99, requests per
second and the API/SQL ratio per (backend, dialect, mix). Times are reported, never asserted.

Requests are sent with httpx, signed by the SDKs' own signer code (huaweicloudsdkcore's Signer, tea-openapi's
get_authorization): the SDK clients' model deserialization would otherwise be timed as if it were the server's.
Before timing, every mix is also fetched once with the official SDK client, and the task ids of the SDK page, the
httpx page and the SQL page must be the same (the benchmark stops otherwise): the two sides always do the same work.

Run from the repository root:  .venv/bin/python -m bench.api_list --backend both
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .seed import DAY_MS, Seeded, seed

HSS_PATH = "/v5/{project_id}/antivirus/task"
USER_AGENT = "fleetscan-bench/1.0"
SAS_MAX_PAGE_SIZE = 100

# ---------------------------------------------------------------------------------------------------- the mixes


@dataclass(frozen=True)
class BareQuery:
    """The page a mix asks for, in SQL terms: what the hand-written implementation filters and orders by."""

    kind: str  # "roots" (root tasks page) | "subtasks" (per-host rows page)
    offset: int
    limit: int
    paid: bool | None = None
    root_statuses: tuple[str, ...] | None = None
    subtask_statuses: tuple[str, ...] | None = None
    host_name: str | None = None
    origin: str | None = None
    start_from: int | None = None
    start_to: int | None = None
    with_hosts: bool = False  # roots page: also fetch the page's subtasks joined with their hosts (HSS host_info_list)


@dataclass(frozen=True)
class Mix:
    dialect: str  # "hss" | "sas"
    name: str
    params: dict[str, Any]
    bare: BareQuery


def hss_mixes(seeded: Seeded, limit: int) -> list[Mix]:
    """ListAntiVirusTask: whether_paid_task is required, so every mix lists the free tasks."""
    deep = min(50_000, seeded.roots // 2 // limit * limit)
    base: dict[str, Any] = {"whether_paid_task": False, "limit": limit, "enterprise_project_id": "all_granted_eps"}
    host = seeded.host_names[0]
    week = seeded.now - 7 * DAY_MS
    return [
        Mix("hss", "first-page", {**base, "offset": 0}, BareQuery("roots", 0, limit, paid=False, with_hosts=True)),
        Mix(
            "hss",
            f"offset-{deep}",
            {**base, "offset": deep},
            BareQuery("roots", deep, limit, paid=False, with_hosts=True),
        ),
        Mix(
            "hss",
            "status-scanning",
            {**base, "offset": 0, "task_status": "scanning"},
            BareQuery("roots", 0, limit, paid=False, root_statuses=("pending", "running"), with_hosts=True),
        ),
        Mix(
            "hss",
            "host-name",
            {**base, "offset": 0, "host_name": host},
            BareQuery("roots", 0, limit, paid=False, host_name=host, with_hosts=True),
        ),
        Mix(
            "hss",
            "last-7-days",
            {**base, "offset": 0, "last_days": 7},
            BareQuery("roots", 0, limit, paid=False, start_from=week, with_hosts=True),
        ),
    ]


def sas_mixes(seeded: Seeded, limit: int) -> list[Mix]:
    """ListVirusScanTask: root tasks (RootTask=true) and per-host subtasks, paged by CurrentPage/PageSize.

    PageSize is at most SAS_MAX_PAGE_SIZE (the adapter's bound), so `limit` is capped to it here.
    """
    limit = min(limit, SAS_MAX_PAGE_SIZE)
    deep_page = min(50_000, seeded.roots // 2) // limit + 1
    deep_sub_page = min(500_000, seeded.subtasks // 2) // limit + 1
    host = seeded.host_names[0]
    month, week = seeded.now - 30 * DAY_MS, seeded.now - 7 * DAY_MS
    roots: dict[str, Any] = {"RootTask": True, "PageSize": limit}
    subs: dict[str, Any] = {"PageSize": limit}
    return [
        Mix("sas", "roots-first-page", {**roots, "CurrentPage": 1}, BareQuery("roots", 0, limit)),
        Mix(
            "sas",
            f"roots-page-{deep_page}",
            {**roots, "CurrentPage": deep_page},
            BareQuery("roots", (deep_page - 1) * limit, limit),
        ),
        Mix(
            "sas",
            "roots-status-failed",
            {**roots, "CurrentPage": 1, "StatusList": [3, 4]},
            BareQuery("roots", 0, limit, root_statuses=("cancelled", "failed", "timed_out")),
        ),
        Mix(
            "sas",
            "roots-window",
            {**roots, "CurrentPage": 1, "StartTime": month, "EndTime": week},
            BareQuery("roots", 0, limit, start_from=month, start_to=week),
        ),
        Mix("sas", "subtasks-first-page", {**subs, "CurrentPage": 1}, BareQuery("subtasks", 0, limit)),
        Mix(
            "sas",
            f"subtasks-page-{deep_sub_page}",
            {**subs, "CurrentPage": deep_sub_page},
            BareQuery("subtasks", (deep_sub_page - 1) * limit, limit),
        ),
        Mix(
            "sas",
            "subtasks-machine",
            {**subs, "CurrentPage": 1, "MachineName": host},
            BareQuery("subtasks", 0, limit, host_name=host),
        ),
    ]


# ---------------------------------------------------------------------------------------------------- bare SQL

_ROOT_COLUMNS = (
    "r.id, r.task_id, r.name, r.scan_type, r.origin, r.start_type, r.action, r.scan_paths, r.start_time, r.end_time, "
    "r.status, r.n_pending, r.n_dispatched, r.n_running, r.n_succeeded, r.n_failed, r.n_timed_out, r.n_cancelled, "
    "r.progress, r.rescan, r.paid"
)
_SUBTASK_HOST_COLUMNS = (
    "s.id, s.subtask_id, s.root_id, s.status, s.progress, s.files_scanned, s.viruses_found, s.start_time, s.end_time, "
    "s.fail_reason, s.using_quota, h.host_id, h.name, h.private_ip, h.public_ip, h.asset_value, h.agent_id, "
    "h.os_type, h.os_name, h.os_version, h.last_seen"
)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass
class SqlPage:
    total: int
    task_ids: list[str]
    host_ids: dict[str, list[str]] = field(default_factory=dict)  # roots page: task_id -> its hosts


class BareSql:
    """The SELECTs of a hand-written implementation, on one DB-API connection of the same driver the server uses."""

    def __init__(self, url: str, account_id: int, project_id: str) -> None:
        self.account_id, self.project_id = account_id, project_id
        self.conn: Any
        if url.startswith("sqlite"):
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.mark = "?"
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            self.mark = "%s"

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _snapshot(self) -> Iterator[Any]:
        """One read transaction, so the count and the page agree, as in any careful implementation."""
        if self.mark == "?":
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")
        else:
            with self.conn.transaction():
                yield self.conn

    def _sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def _task_where(self, q: BareQuery, start_column: str) -> tuple[list[str], list[Any]]:
        """Scope, root status, origin and the start window: what the root and machine-row queries share."""
        conds, args = ["r.account_id = ?", "r.project_id = ?"], [self.account_id, self.project_id]
        if q.root_statuses:
            conds.append(f"r.status IN ({', '.join('?' for _ in q.root_statuses)})")
            args.extend(q.root_statuses)
        if q.origin:
            conds.append("r.origin = ?")
            args.append(q.origin)
        if q.start_from is not None:
            conds.append(f"{start_column} >= ?")
            args.append(q.start_from)
        if q.start_to is not None:
            conds.append(f"{start_column} <= ?")
            args.append(q.start_to)
        return conds, args

    def _root_where(self, q: BareQuery) -> tuple[str, list[Any]]:
        conds, args = self._task_where(q, "r.start_time")
        if q.paid is not None:
            conds.append("r.paid = ?")
            args.append(q.paid)
        if q.host_name or q.subtask_statuses:
            inner, inner_args = self._host_where(q)
            conds.append(
                "EXISTS (SELECT 1 FROM subtasks s JOIN hosts h ON h.id = s.host_pk "
                f"WHERE s.root_id = r.id AND {' AND '.join(inner)})"
            )
            args.extend(inner_args)
        return " AND ".join(conds), args

    @staticmethod
    def _host_where(q: BareQuery) -> tuple[list[str], list[Any]]:
        conds: list[str] = []
        args: list[Any] = []
        if q.host_name:
            conds.append("h.name LIKE ? ESCAPE '\\'")
            args.append(_like(q.host_name))
        if q.subtask_statuses:
            conds.append(f"s.status IN ({', '.join('?' for _ in q.subtask_statuses)})")
            args.extend(q.subtask_statuses)
        return conds, args

    def fetch(self, q: BareQuery) -> SqlPage:
        return self._roots(q) if q.kind == "roots" else self._subtasks(q)

    def _roots(self, q: BareQuery) -> SqlPage:
        where, args = self._root_where(q)
        with self._snapshot() as conn:
            total = conn.execute(self._sql(f"SELECT count(*) FROM root_tasks r WHERE {where}"), args).fetchone()[0]
            page = conn.execute(
                self._sql(
                    f"SELECT {_ROOT_COLUMNS} FROM root_tasks r WHERE {where} "
                    "ORDER BY r.start_time DESC, r.id DESC LIMIT ? OFFSET ?"
                ),
                [*args, q.limit, q.offset],
            ).fetchall()
            out = SqlPage(int(total), [row[1] for row in page])
            if q.with_hosts and page:
                by_id = {row[0]: row[1] for row in page}
                inner, inner_args = self._host_where(q)
                extra = "".join(f" AND {c}" for c in inner)
                found = conn.execute(
                    self._sql(
                        f"SELECT {_SUBTASK_HOST_COLUMNS} FROM subtasks s JOIN hosts h ON h.id = s.host_pk "
                        f"WHERE s.root_id IN ({', '.join('?' for _ in by_id)}){extra} ORDER BY s.root_id, s.id"
                    ),
                    [*by_id, *inner_args],
                ).fetchall()
                for row in found:
                    out.host_ids.setdefault(by_id[row[2]], []).append(row[11])
        return out

    def _subtasks(self, q: BareQuery) -> SqlPage:
        conds, args = self._task_where(q, "coalesce(s.start_time, r.start_time)")
        inner, inner_args = self._host_where(q)
        conds += inner
        args += inner_args
        where = " AND ".join(conds)
        joined = "subtasks s JOIN root_tasks r ON r.id = s.root_id JOIN hosts h ON h.id = s.host_pk"
        with self._snapshot() as conn:
            total = conn.execute(self._sql(f"SELECT count(*) FROM {joined} WHERE {where}"), args).fetchone()[0]
            page = conn.execute(
                self._sql(
                    f"SELECT {_SUBTASK_HOST_COLUMNS}, r.task_id, r.origin, r.scan_paths, r.start_time FROM {joined} "
                    f"WHERE {where} ORDER BY r.start_time DESC, s.id DESC LIMIT ? OFFSET ?"
                ),
                [*args, q.limit, q.offset],
            ).fetchall()
        return SqlPage(int(total), [row[1] for row in page])


# ---------------------------------------------------------------------------------------------------- the API side


@dataclass
class ApiPage:
    total: int
    task_ids: list[str]
    host_ids: dict[str, list[str]] = field(default_factory=dict)


class ApiClient:
    """Signed requests sent with httpx; signatures by the SDKs' own signer code, one fresh signature per request."""

    def __init__(self, endpoint: str, access_key_id: str, secret: str, project_id: str) -> None:
        import httpx

        self.endpoint, self.ak, self.sk, self.project_id = endpoint, access_key_id, secret, project_id
        self.http = httpx.Client(timeout=600)

    def close(self) -> None:
        self.http.close()

    def hss(self, params: dict[str, Any]) -> Any:
        from huaweicloudsdkcore.auth.credentials import BasicCredentials
        from huaweicloudsdkcore.sdk_request import SdkRequest
        from huaweicloudsdkcore.signer.signer import Signer

        request = SdkRequest(
            method="GET",
            schema="http",
            host=self.endpoint,
            resource_path=HSS_PATH.format(project_id=self.project_id),
            query_params=[(k, list(v) if isinstance(v, list) else v) for k, v in params.items()],
            header_params={
                "Content-Type": "application/json",
                "X-Project-Id": self.project_id,
                "User-Agent": USER_AGENT,
            },
            body="",
        )
        Signer(BasicCredentials(self.ak, self.sk, self.project_id)).sign(request)
        response = self.http.get(f"http://{self.endpoint}{request.uri}", headers=request.header_params)
        if response.status_code != 200:
            raise RuntimeError(f"HSS {response.status_code}: {response.text[:500]}")
        return response.json()

    def sas(self, action: str, params: dict[str, Any]) -> Any:
        from alibabacloud_tea_openapi.utils import Utils
        from darabonba.request import DaraRequest  # type: ignore[import-untyped]

        query = Utils.query(params)
        algorithm = "ACS3-HMAC-SHA256"
        request = DaraRequest()
        request.method, request.pathname, request.query = "POST", "/", query
        request.headers = {
            "host": self.endpoint,
            "x-acs-version": "2018-12-03",
            "x-acs-action": action,
            "user-agent": USER_AGENT,
            "x-acs-date": Utils.get_timestamp(),
            "x-acs-signature-nonce": Utils.get_nonce(),
            "accept": "application/json",
            "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
            "x-acs-credentials-provider": "static_ak",
        }
        payload = request.headers["x-acs-content-sha256"]
        request.headers["Authorization"] = Utils.get_authorization(request, algorithm, payload, self.ak, self.sk)
        url = f"http://{self.endpoint}/?{urlencode(sorted(query.items()))}"
        response = self.http.post(url, headers=request.headers, content=b"")
        if response.status_code != 200:
            raise RuntimeError(f"Sas {response.status_code}: {response.text[:500]}")
        return response.json()

    def page(self, mix: Mix) -> ApiPage:
        if mix.dialect == "hss":
            body = self.hss(mix.params)
            rows = body["data_list"]
            return ApiPage(
                int(body["total_num"]),
                [r["task_id"] for r in rows],
                {r["task_id"]: [h["host_id"] for h in r.get("host_info_list") or []] for r in rows},
            )
        body = self.sas("ListVirusScanTask", mix.params)
        return ApiPage(int(body["PageInfo"]["TotalCount"]), [r["TaskId"] for r in body["List"]])


def sdk_page(mix: Mix, endpoint: str, ak: str, sk: str, project_id: str) -> ApiPage:
    """The same page through the official SDK client: proof that the httpx requests are the real thing."""
    if mix.dialect == "hss":
        from huaweicloudsdkcore.auth.credentials import BasicCredentials
        from huaweicloudsdkhss.v5 import HssClient, ListAntiVirusTaskRequest

        client = (
            HssClient.new_builder()
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([f"http://{endpoint}"])
            .build()
        )
        hw = client.list_anti_virus_task(ListAntiVirusTaskRequest(**mix.params))
        rows = hw.data_list or []
        return ApiPage(
            int(hw.total_num or 0),
            [r.task_id for r in rows],
            {r.task_id: [h.host_id for h in r.host_info_list or []] for r in rows},
        )
    from alibabacloud_sas20181203.client import Client
    from alibabacloud_sas20181203.models import ListVirusScanTaskRequest
    from alibabacloud_tea_openapi import models as open_api_models

    ali = Client(open_api_models.Config(access_key_id=ak, access_key_secret=sk, endpoint=endpoint, protocol="http"))
    names = {
        "RootTask": "root_task",
        "PageSize": "page_size",
        "CurrentPage": "current_page",
        "StatusList": "status_list",
        "StartTime": "start_time",
        "EndTime": "end_time",
        "MachineName": "machine_name",
    }
    body = ali.list_virus_scan_task(ListVirusScanTaskRequest(**{names[k]: v for k, v in mix.params.items()})).body
    return ApiPage(int(body.page_info.total_count), [r.task_id for r in body.list or []])


# ---------------------------------------------------------------------------------------------------- timing


@dataclass
class Timing:
    p50: float
    p99: float
    rps: float
    cpu: float  # ms of CPU per request, of the processes doing the work (see CpuMeter)


def _ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), in clock ticks; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _backends(postmaster: int) -> list[int]:
    """The cluster's client backends ("postgres: user db host(port) ..."), not autovacuum or the writers.

    Autovacuum works through the freshly seeded tables in its own time: its CPU belongs to neither side.
    """
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rpartition(")")[2].split()[1]) != postmaster:
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    title = f.read().decode(errors="replace")
            except OSError:
                continue
            if "(" in title or "[local]" in title:
                out.append(int(entry))
    return out


class CpuMeter:
    """CPU seconds used so far by one side's processes: wall time on a shared machine says little, CPU time more.

    API side: the fleetscan server process. SQL side: this process (only the bare SQL runs in it while that side
    is timed). Both add the PostgreSQL cluster's client backends (serving either side) when the benchmark started
    the cluster; SQLite runs inside the process that queries it.
    """

    def __init__(self, pid: int | None, postmaster: int | None) -> None:
        self.pid, self.postmaster = pid, postmaster
        self.tick = os.sysconf("SC_CLK_TCK")

    def __call__(self) -> float:
        own = time.process_time() if self.pid is None else _ticks(self.pid) / self.tick
        if self.postmaster is None:
            return own
        return own + sum(_ticks(p) for p in _backends(self.postmaster)) / self.tick


def _time(call: Callable[[], object], n: int, cpu: Callable[[], float], warmup: int = 2) -> Timing:
    for _ in range(warmup):
        call()
    times = []
    cpu0 = cpu()
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    used = cpu() - cpu0
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return Timing(statistics.median(times) * 1000, p99 * 1000, len(times) / sum(times), used / n * 1000)


class Mismatch(RuntimeError):
    """The API and the bare SQL returned different pages: timing them would compare different work."""


def check_same_page(mix: Mix, sql: SqlPage, *api: ApiPage) -> None:
    for page in api:
        if page.task_ids != sql.task_ids:
            only_api = [t for t in page.task_ids if t not in set(sql.task_ids)][:3]
            only_sql = [t for t in sql.task_ids if t not in set(page.task_ids)][:3]
            raise Mismatch(
                f"{mix.dialect} {mix.name}: API page ({len(page.task_ids)} ids, total {page.total}) != SQL page "
                f"({len(sql.task_ids)} ids, total {sql.total}); only API {only_api}, only SQL {only_sql}"
            )
        if mix.bare.with_hosts:
            for task_id in sql.task_ids:
                if sorted(page.host_ids.get(task_id, [])) != sorted(sql.host_ids.get(task_id, [])):
                    raise Mismatch(f"{mix.dialect} {mix.name}: hosts of task {task_id} differ between API and SQL")


@dataclass
class Result:
    backend: str
    mix: Mix
    api: Timing
    sql: Timing
    rows: int
    total: int

    def line(self) -> str:
        a, s = self.api, self.sql
        return (
            f"{self.backend:<10} {self.mix.dialect:<3} {self.mix.name:<22} "
            f"api p50 {a.p50:8.1f}ms p99 {a.p99:8.1f}ms {a.rps:7.1f} req/s | "
            f"sql p50 {s.p50:8.1f}ms p99 {s.p99:8.1f}ms {s.rps:7.1f} req/s | "
            f"api/sql {a.p50 / s.p50:5.2f}x | cpu/req api {a.cpu:6.1f}ms sql {s.cpu:6.1f}ms "
            f"{a.cpu / max(s.cpu, 0.01):5.2f}x | rows {self.rows} of {self.total}"
        )


def run_backend(
    backend: str,
    url: str,
    seeded: Seeded,
    args: argparse.Namespace,
    out: Callable[[str], None],
    postmaster: int | None = None,
) -> list[Result]:
    from fleetscan.storage.sql import open_storage
    from tests.support.server import ServerProcess

    storage = open_storage(url, migrate=False)
    try:
        key = storage.get_access_key(seeded.access_key_id)
        assert key is not None
        account_id = key.scope.account_id
    finally:
        storage.dispose()
    bare = BareSql(url, account_id, seeded.project_id)
    # Seeded agents never report: without these, the sweeper would fail their scans mid-run and change the pages.
    server = ServerProcess(url, "--offline-after", "1e9", "--scan-timeout", "1e9").start()
    client = ApiClient(server.endpoint, seeded.access_key_id, seeded.secret, seeded.project_id)
    results: list[Result] = []
    try:
        mixes = [*hss_mixes(seeded, args.limit), *sas_mixes(seeded, args.limit)]
        for mix in mixes:
            if args.dialect != "both" and mix.dialect != args.dialect:
                continue
            sql_page = bare.fetch(mix.bare)
            check_same_page(
                mix,
                sql_page,
                client.page(mix),
                sdk_page(mix, server.endpoint, seeded.access_key_id, seeded.secret, seeded.project_id),
            )
            assert server.proc is not None
            api_cpu, sql_cpu = CpuMeter(server.proc.pid, postmaster), CpuMeter(None, postmaster)
            api = _time(lambda m=mix: client.page(m), args.requests, api_cpu)  # type: ignore[misc]
            sql = _time(lambda q=mix.bare: bare.fetch(q), args.requests, sql_cpu)  # type: ignore[misc]
            result = Result(backend, mix, api, sql, len(sql_page.task_ids), sql_page.total)
            out(result.line())
            results.append(result)
    finally:
        client.close()
        server.stop()
        bare.close()
    return results


@contextmanager
def database(backend: str, given: str | None) -> Iterator[tuple[str, int | None]]:
    """An empty database in a temporary place, removed afterwards (or the one given with --database-url).

    With it, the pid of the PostgreSQL postmaster the benchmark started (None otherwise), for CpuMeter.
    """
    if backend == "sqlite":
        if given:
            yield given, None
            return
        with tempfile.TemporaryDirectory(prefix="fleetscan-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db", None
        return
    if given:
        yield given, None
        return
    from tests.support.postgres import PostgresServer

    pg = PostgresServer()
    pg.start()
    try:
        url = pg.new_database()
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
        yield url, postmaster
    finally:
        pg.stop()


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--roots", type=int, default=100_000)
    parser.add_argument("--subtasks-per-root", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--dialect", choices=("hss", "sas", "both"), default="both")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per mix, each side")
    parser.add_argument("--limit", type=int, default=200, help="page size (HSS limit, Sas PageSize)")
    parser.add_argument("--database-url", help="an EMPTY database to seed (PostgreSQL: else a throwaway cluster)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    out(
        f"# fleetscan listing benchmark: {args.roots} roots, {args.roots * args.subtasks_per_root} subtasks, "
        f"{args.hosts} hosts; page size {args.limit}; {args.requests} sequential requests per mix and side; "
        "API = fleetscan server over HTTP (httpx, SDK signers), SQL = hand-written SELECTs, same driver; "
        "cpu/req = CPU of the server process (API) or of the SQL loop (SQL), plus PostgreSQL's processes"
    )
    for backend in backends:
        given = args.database_url if args.backend != "both" else None
        with database(backend, given) as (url, postmaster):
            seeded = seed(url, roots=args.roots, subtasks_per_root=args.subtasks_per_root, n_hosts=args.hosts)
            out(f"# {backend}: seeded {seeded.roots} roots / {seeded.subtasks} subtasks in {seeded.seconds:.1f}s")
            results += run_backend(backend, url, seeded, args, out, postmaster)
    return results


if __name__ == "__main__":
    try:
        main()
    except Mismatch as exc:
        print(f"MISMATCH: {exc}", file=sys.stderr)
        sys.exit(2)

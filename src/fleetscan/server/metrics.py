"""`/metrics`: Prometheus' text format, from `prometheus_client`.

What each process counted (requests by edge and operation, database pool and errors: `api/metrics.py`,
`storage/metrics.py`) comes from the process's own registry, or, with several workers, from the files every
worker writes in the server's private multiprocess folder (`PROMETHEUS_MULTIPROC_DIR`), summed by
`MultiProcessCollector`. The fleet's gauges (agents, subtasks by state, report delays) are read from the
database at scrape time by one query (`ControlPlane.fleet_gauges`), so any worker of any replica answers the
same. `fleetscan_database_up` is 0 when that query failed; the other fleet gauges are then left out.

Who may read it (`MetricsAccess`): with a token, whoever sends `Authorization: Bearer <token>`; without one,
loopback clients only. The fleet's size and its API use are no secret worth much, but no business of the
internet either.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..core.service import ControlPlane

__all__ = ["CONTENT_TYPE", "MULTIPROC_ENV", "FleetCollector", "MetricsAccess", "metrics_endpoint"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger("fleetscan.server")


class FleetCollector:
    """The fleet's gauges, read from the database when scraped."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def collect(self) -> Iterator[Metric]:
        try:
            fleet = self.plane.fleet_gauges()
        except Exception:
            log.exception("metrics: the fleet's gauges could not be read")
            yield GaugeMetricFamily("fleetscan_database_up", _UP, value=0)
            return
        yield GaugeMetricFamily("fleetscan_database_up", _UP, value=1)
        yield GaugeMetricFamily("fleetscan_agents_enrolled", "Hosts enrolled.", value=fleet.agents_enrolled)
        yield GaugeMetricFamily(
            "fleetscan_agents_online",
            "Hosts whose agent was seen within the online window (and did not say goodbye since).",
            value=fleet.agents_online,
        )
        states = GaugeMetricFamily("fleetscan_subtasks", "Subtasks (one host's scan) by state.", labels=["state"])
        for state, count in fleet.subtasks.items():
            states.add_metric([state.value], count)
        yield states
        delayed = GaugeMetricFamily(
            "fleetscan_report_delayed_subtasks",
            "In-flight subtasks (dispatched or running) with no report stored for more than `over` seconds.",
            labels=["over"],
        )
        for over, count in fleet.delayed.items():
            delayed.add_metric([str(over)], count)
        yield delayed
        yield GaugeMetricFamily(
            "fleetscan_report_delay_seconds_max",
            "The longest an in-flight subtask has waited since its last stored report (0: none in flight).",
            value=fleet.longest_delay_ms / 1000,
        )


_UP = "1 when the fleet's gauges were read from the database at this scrape, else 0."


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read `/metrics`: bearers of `token` when one is set, else loopback clients."""

    token: str | None = None

    def allows(self, request: Request) -> bool:
        if self.token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self.token.encode())
        host = request.client.host if request.client else ""
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def _registry(fleet: FleetCollector) -> CollectorRegistry:
    """A scrape's registry: this process's metrics (or every worker's files, when the server runs several), and
    the fleet's gauges. Built per scrape, as `prometheus_client` does in multiprocess mode."""
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        MultiProcessCollector(registry, folder)  # type: ignore[no-untyped-call]
    else:
        registry.register(REGISTRY)
    registry.register(fleet)
    return registry


def metrics_endpoint(plane: ControlPlane, access: MetricsAccess) -> Callable[[Request], Awaitable[Response]]:
    fleet = FleetCollector(plane)

    async def metrics(request: Request) -> Response:
        if not access.allows(request):
            if access.token:
                return PlainTextResponse("a metrics token is required\n", 401, {"WWW-Authenticate": "Bearer"})
            return PlainTextResponse("metrics are served to loopback clients only (see --metrics-token)\n", 403)
        body = await run_in_threadpool(lambda: generate_latest(_registry(fleet)))
        return Response(body, media_type=CONTENT_TYPE)

    return metrics

"""Reading a server's `/metrics` as Prometheus would: with its own text parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .server import ServerProcess

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: ServerProcess, **headers: str) -> Samples:
    """Every sample of one scrape, by name and labels."""
    reply = httpx.get(f"{server.url}/metrics", headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape has none (a counter nothing has moved yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)

"""Placeholder until the adapter lands."""

from __future__ import annotations

from starlette.routing import BaseRoute

from ...core.service import ControlPlane


def routes(plane: ControlPlane) -> list[BaseRoute]:
    return []

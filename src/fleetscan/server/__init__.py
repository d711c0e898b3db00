"""The server process: one Starlette app that serves both dialects, the agent protocol and the console."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]

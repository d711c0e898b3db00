"""What the agent tells the server about its host when it enrolls."""

from __future__ import annotations

import platform
import socket
from typing import Any


def _private_ip() -> str:
    """The address the host would use to reach the outside, found without sending anything."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: connect() on UDP only picks a route
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def _os_release() -> tuple[str, str]:
    try:
        values = {}
        with open("/etc/os-release") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                values[key] = value.strip('"')
        return values.get("NAME", platform.system()), values.get("VERSION_ID", platform.release())
    except OSError:
        return platform.system(), platform.release()


def host_facts(name: str | None = None, public_ip: str = "") -> dict[str, Any]:
    from .. import __version__

    os_name, os_version = _os_release()
    return {
        "name": name or socket.gethostname(),
        "private_ip": _private_ip(),
        "public_ip": public_ip,
        "os_type": "Windows" if platform.system() == "Windows" else "Linux",
        "os_name": os_name[:128],
        "os_version": os_version[:64],
        "agent_version": __version__,
    }

"""fleetscan: a self-hosted antivirus control plane for a fleet of servers."""

__version__ = "0.1.0"

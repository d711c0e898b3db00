"""The HTTP edges: one adapter per API dialect, plus the agent protocol. They translate, nothing more."""

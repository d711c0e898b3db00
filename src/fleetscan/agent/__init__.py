"""The host agent: enrolls, takes its subtasks, scans with the engine, reports, survives restarts.

It speaks to the server only through the agent protocol (docs/agent-protocol.md).
"""

"""The agent protocol (docs/agent-protocol.md): enroll, take work, report progress, detections and the end."""

"""The server's TLS identity: a lab PKI (`certs`) and the SHA-256 pins agents enroll with (`pins`).

Kept apart from the agent and the server so both sides share one definition of a fingerprint and of a pinned
enrollment token.
"""

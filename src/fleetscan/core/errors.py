"""Domain errors. Each API adapter maps these to its own wire shape and status code.

DomainError
├── InvalidParameter      a value out of range, malformed or missing (client's mistake)
├── NotFound              no such task / host / detection visible to the caller
├── IllegalTransition     a state change the state machine forbids
├── Conflict              the request contradicts the current state (e.g. rescan of a running task)
└── PermissionDenied      the caller may not do this or see that
"""

from __future__ import annotations

__all__ = ["DomainError", "InvalidParameter", "NotFound", "IllegalTransition", "Conflict", "PermissionDenied"]


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(DomainError):
    """Raised by validation before anything is changed, naming the parameter at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class NotFound(DomainError):
    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident!s} not found")
        self.kind = kind
        self.ident = ident


class IllegalTransition(DomainError):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


class Conflict(DomainError):
    pass


class PermissionDenied(DomainError):
    pass

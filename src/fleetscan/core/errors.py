"""Domain errors. Each API edge maps these to its own wire shape through one table (`api/edge.py`).

DomainError
├── InvalidParameter          a value out of range, malformed or missing (client's mistake)
├── NotFound                  no such thing visible to the caller
│   ├── UnknownTask
│   ├── UnknownSubtask
│   ├── UnknownHost
│   ├── UnknownSchedule
│   ├── UnknownQuarantinedFile
│   ├── UnknownResult
│   └── UnknownAction
├── IllegalTransition         a state change the state machine forbids
│   └── HandlingNotAllowed    a detection's handling state does not allow that operation
├── Conflict                  the request contradicts the current state
│   ├── TaskStillRunning      rescan of a task not yet finished
│   └── ActionUnderWay        a quarantine or restore already pending on the host
└── PermissionDenied          the caller may not do this or see that

The named subclasses exist so that an edge can answer each with its own code (Alibaba's
`InvalidQuaraFileId.NotFound` is not `InvalidTaskId.NotFound`) while an edge that does not care
still maps the parent class. Their messages are the parents' messages.
"""

from __future__ import annotations

__all__ = [
    "ActionUnderWay",
    "Conflict",
    "DomainError",
    "HandlingNotAllowed",
    "IllegalTransition",
    "InvalidParameter",
    "NotFound",
    "PermissionDenied",
    "TaskStillRunning",
    "UnknownAction",
    "UnknownHost",
    "UnknownQuarantinedFile",
    "UnknownResult",
    "UnknownSchedule",
    "UnknownSubtask",
    "UnknownTask",
]


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


class UnknownTask(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("task", ident)


class UnknownSubtask(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("subtask", ident)


class UnknownHost(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("host", ident)


class UnknownSchedule(NotFound):
    """`kind` is the schedule's kind (an HSS policy, an Alibaba cycle task), for the message."""

    def __init__(self, ident: object, kind: str = "schedule") -> None:
        super().__init__(kind, ident)


class UnknownQuarantinedFile(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("quarantined file", ident)


class UnknownResult(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("result", ident)


class UnknownAction(NotFound):
    def __init__(self, ident: object) -> None:
        super().__init__("action", ident)


class IllegalTransition(DomainError):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


class HandlingNotAllowed(IllegalTransition):
    """`current` is the detection's handling state as the edges show it, `target` the operation."""


class Conflict(DomainError):
    pass


class TaskStillRunning(Conflict):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is still running")
        self.task_id = task_id


class ActionUnderWay(Conflict):
    def __init__(self, result_id: str) -> None:
        super().__init__(f"detection {result_id} already has an action under way on its host")
        self.result_id = result_id


class PermissionDenied(DomainError):
    pass

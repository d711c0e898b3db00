"""A validation layer in front of storage, as GRR's `DatabaseValidationWrapper` checks every database call.

The edges refuse bad input in their own wire shapes; this layer makes sure nothing they missed (or that
a caller inside the server composed) reaches SQL. Every call of the `Storage` interface is checked before
any SQL runs: every string, also inside dataclasses, tuples, lists and mappings, by `core.validation`'s
text rule (the free one: what each field means is the edge's business, what any column can hold is
ours), every integer within int64, every float finite. Where a dataclass is written to a table, its
strings are held to the width of their column and its integers to 32 bits where the column has 32,
read from `schema.py`, so PostgreSQL never refuses a value SQLite would have kept. Callables handed to
storage (a subtask change, an id maker) have what they return checked the same way, inside the
transaction, which then rolls back. A value that breaks the rule raises `InvalidParameter`; nothing is
cut short or coerced, here or below.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Final, cast

from sqlalchemy import BigInteger, Integer, String, Table

from ..core import handling
from ..core.errors import InvalidParameter
from ..core.models import AccessKey, Credential, Detection, Host, RootTask, Subtask
from ..core.ports import PORTS, Storage
from ..core.schedules import Schedule
from ..core.signature_sets import SignatureFile
from ..core.validation import INT32_MAX, INT64_MAX, INT64_MIN, text_problem
from . import schema

__all__ = ["ValidatedStorage", "validated"]

INT32_MIN: Final = -(2**31)


@dataclasses.dataclass(frozen=True)
class _Bounds:
    """How long each string field may be and which integer fields are 32-bit: one table's columns."""

    widths: Mapping[str, int]
    int32: frozenset[str]

    @classmethod
    def of(cls, table: Table) -> _Bounds:
        widths = {c.name: c.type.length for c in table.columns if isinstance(c.type, String) and c.type.length}
        int32 = frozenset(
            c.name for c in table.columns if isinstance(c.type, Integer) and not isinstance(c.type, BigInteger)
        )
        return cls(widths, int32)


_NONE: Final = _Bounds({}, frozenset())
# The table each written dataclass lands in: its fields are held to the columns of the same name.
_ROWS: Final[dict[type, _Bounds]] = {
    Host: _Bounds.of(schema.hosts),
    RootTask: _Bounds.of(schema.root_tasks),
    Subtask: _Bounds.of(schema.subtasks),
    Detection: _Bounds.of(schema.detections),
    Schedule: _Bounds.of(schema.schedules),
    AccessKey: _Bounds.of(schema.access_keys),
    Credential: _Bounds.of(schema.credentials),
    handling.HandleRequest: _Bounds.of(schema.handle_history),
    handling.AgentAction: _Bounds.of(schema.agent_actions),
    handling.QuarantinedFile: _Bounds.of(schema.quarantined_files),
    SignatureFile: _Bounds.of(schema.signature_files),
}
# Plain string arguments written to a column: (method, argument) -> width.
_ARGUMENTS: Final[dict[tuple[str, str], int]] = {
    ("ensure_account", "name"): 128,
    ("find_project", "account"): 128,
    ("find_project", "project_id"): 256,
    ("ensure_group", "name"): 256,
    ("remember_nonce", "access_key_id"): 64,
    ("remember_nonce", "nonce"): 128,
    ("finish_action", "error"): 512,
    ("find_by_client_token", "client_token"): 128,
    ("find_schedule_by_client_token", "client_token"): 128,
}
_METHODS: Final = frozenset(
    name
    for protocol in PORTS
    for name, member in vars(protocol).items()
    if not name.startswith("_") and callable(member)
)


def check_value(where: str, value: object, *, width: int | None = None, int32: bool = False) -> None:
    """Refuse `value`, or anything inside it, that no backend can store as it is."""
    if value is None or isinstance(value, bool | bytes):
        return
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        problem = text_problem(value, free=True)
        if problem is not None:
            raise InvalidParameter(where, problem)
        if width is not None and len(value) > width:
            raise InvalidParameter(where, f"length must be at most {width} characters")
    elif isinstance(value, int):
        lo, hi = (INT32_MIN, INT32_MAX) if int32 else (INT64_MIN, INT64_MAX)
        if not lo <= value <= hi:
            raise InvalidParameter(where, f"must be {lo} to {hi}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidParameter(where, "must be a finite number")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        bounds = _ROWS.get(type(value), _NONE)
        for f in dataclasses.fields(value):
            check_value(
                f"{where}.{f.name}",
                getattr(value, f.name),
                width=bounds.widths.get(f.name),
                int32=f.name in bounds.int32,
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_value(f"{where} key", key)
            check_value(f"{where}.{key}", item)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            check_value(f"{where}[{index}]", item)


def _returns_checked(where: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        check_value(where, result)
        return result

    return checked


def _callables_checked(where: str, item: object) -> object:
    """A dataclass handed to storage with callables in it (`SubtaskReport.change`): those return checked values."""
    if not dataclasses.is_dataclass(item) or isinstance(item, type):
        return item
    wrapped = {
        f.name: _returns_checked(f"{where}.{f.name}", value)
        for f in dataclasses.fields(item)
        if callable(value := getattr(item, f.name)) and not dataclasses.is_dataclass(value)
    }
    return dataclasses.replace(item, **wrapped) if wrapped else item


class ValidatedStorage:
    """Any Storage, every call of its interface checked first; everything else passes through."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (a copy being made): never look it up through itself
            raise AttributeError(name)
        attr = getattr(self.inner, name)
        if name not in _METHODS:
            return attr
        signature = inspect.signature(attr)

        @functools.wraps(attr)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            for arg, value in bound.arguments.items():
                if callable(value) and not dataclasses.is_dataclass(value):
                    bound.arguments[arg] = _returns_checked(f"{name}.{arg}", value)
                else:
                    check_value(arg, value, width=_ARGUMENTS.get((name, arg)))
                    if isinstance(value, list | tuple) and value and dataclasses.is_dataclass(value[0]):
                        items = [_callables_checked(f"{name}.{arg}", item) for item in value]
                        if any(new is not old for new, old in zip(items, value, strict=True)):
                            bound.arguments[arg] = items  # the caller's own sequence otherwise
            return attr(*bound.args, **bound.kwargs)

        self.__dict__[name] = checked  # built once: later calls find it without __getattr__
        return checked


def validated(storage: Storage) -> Storage:
    """`storage` behind the validation layer. The cast is sound: `__getattr__` serves every Storage method."""
    return cast(Storage, ValidatedStorage(storage))

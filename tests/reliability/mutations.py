"""One field of a baseline request changed at a time: what can change, into what, and how it is applied.

A field is an address in a `Call`: `("query", name)`, `("query", name, *inside)` for a JSON-valued
parameter, `("body", *keys)`, `("path", name)`, `("auth", "agent_id")`. A mutation replaces the value (by
hostile text, an out-of-range or oversized integer, a value of the wrong type, deeply nested JSON), or
removes the field, or (in a query) repeats its key. Text carriers (query, path, header) take text; JSON
carriers take any JSON value, including `Raw` text no encoder would write.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from .wire import Call, Json, Raw

Field = tuple[Any, ...]
DEPTH = 100_000


@dataclass(frozen=True)
class Mutation:
    label: str
    value: Any = None
    kind: str = "set"  # "set" | "remove" | "repeat"

    def __repr__(self) -> str:
        return self.label


REMOVE = Mutation("remove", kind="remove")
REPEAT_SAME = Mutation("repeat key (same value)", kind="repeat")
REPEAT_OTHER = Mutation("repeat key (other value)", "x", kind="repeat")

HOSTILE_TEXT = [
    Mutation("empty string", ""),
    Mutation("lone surrogate \\udfff", "\udfff"),
    Mutation("lone surrogate inside", "/x\udfff"),
    Mutation("high surrogate \\ud800", "a\ud800"),
    Mutation("NUL", "\x00"),
    Mutation("NUL inside", "a\x00b"),
    Mutation("C0 controls", "a\x01\x1b\x1fb"),
    Mutation("newline and tab", "a\nb\tc\r"),
    Mutation("DEL", "a\x7f"),
    Mutation("5000 chars", "a" * 5000),
    Mutation("superscript digit ²", "²"),
    Mutation("Arabic-Indic digits", "\u0661\u0662\u0663"),
    Mutation("fullwidth digits", "\uff11\uff12"),
    Mutation("RTL override", "\u202eabc"),
    Mutation("RTL mark", "\u200f1"),
    Mutation("noncharacter U+FFFF", "\uffff"),
    Mutation("astral emoji", "\U0001f600"),
    Mutation("path traversal", "../../etc/passwd"),
    Mutation("percent sign", "%2F%00"),
    Mutation("spaces", "  "),
]

NUMBER_TEXT = [
    Mutation("text -2^63-1", str(-(2**63) - 1)),
    Mutation("text 2^63", str(2**63)),
    Mutation("text 10^30", str(10**30)),
    Mutation("text -1", "-1"),
    Mutation("text 0", "0"),
    Mutation("text 25 nines", "9" * 25),
    Mutation("text leading zeros", "0" * 30 + "1"),
    Mutation("text +1", "+1"),
    Mutation("text 1_000", "1_000"),
    Mutation("text 1.5", "1.5"),
    Mutation("text 1e3", "1e3"),
    Mutation("text 0x1f", "0x1f"),
    Mutation("text -0", "-0"),
    Mutation("text true", "true"),
    Mutation("text null", "null"),
    Mutation("text []", "[]"),
    Mutation("text {}", "{}"),
]

NUMBERS = [
    Mutation("int -2^63-1", -(2**63) - 1),
    Mutation("int 2^63", 2**63),
    Mutation("int 2^64", 2**64),
    Mutation("int 10^30", 10**30),
    Mutation("int -1", -1),
    Mutation("int 0", 0),
    Mutation("int 2^31", 2**31),
    Mutation("int 2^63-1", 2**63 - 1),
    Mutation("int 5000 digits", Raw("9" * 5000)),
    Mutation("float 1.5", 1.5),
    Mutation("float 1e308", 1e308),
    Mutation("float 1e400 (inf)", Raw("1e400")),
    Mutation("NaN", Raw("NaN")),
    Mutation("-0.0", -0.0),
]

WRONG_TYPES = [
    Mutation("null", None),
    Mutation("true", True),
    Mutation("false", False),
    Mutation("empty list", []),
    Mutation("list of string", ["x"]),
    Mutation("list of null", [None]),
    Mutation("empty object", {}),
    Mutation("object", {"a": "b"}),
    Mutation("string for number", "1"),
    Mutation("number for string", 1),
]

DEEP = [
    Mutation("100k-deep array", Raw("[" * DEPTH + "]" * DEPTH)),
    Mutation("100k-deep object", Raw('{"a":' * DEPTH + "1" + "}" * DEPTH)),
    Mutation("1000-deep array", Raw("[" * 1000 + "]" * 1000)),
]

JSON_MUTATIONS = [REMOVE, *HOSTILE_TEXT, *NUMBERS, *WRONG_TYPES, *DEEP]
TEXT_MUTATIONS = [REMOVE, *HOSTILE_TEXT, *NUMBER_TEXT]
QUERY_MUTATIONS = [*TEXT_MUTATIONS, REPEAT_SAME, REPEAT_OTHER]
JSON_TEXT_MUTATIONS = [*QUERY_MUTATIONS, *(Mutation(m.label + " (as JSON text)", m.value) for m in DEEP)]


def fields(call: Call) -> list[Field]:
    """Every address one mutation can target, in a stable order."""
    out: list[Field] = [("path", name) for name in call.path_params]
    for name, value in call.query:
        out.append(("query", name))
        if isinstance(value, Json):
            out.extend(("query", name, *inner) for inner in _inside(value.value))
    if isinstance(call.body, dict | list):
        out.extend(("body", *inner) for inner in _inside(call.body))
    if call.edge == "agent" and call.credentials.key_id:  # enrollment carries no credential
        out.append(("auth", "agent_id"))
    return out


def _inside(value: Any) -> Iterator[tuple[Any, ...]]:
    """Keys of objects and the first item of each list, depth first."""
    items: list[tuple[Any, Any]] = list(value.items()) if isinstance(value, dict) else list(enumerate(value[:1]))
    for key, inner in items:
        yield (key,)
        if isinstance(inner, dict | list):
            for deeper in _inside(inner):
                yield (key, *deeper)


def _sendable_in_a_header(mutation: Mutation) -> bool:
    """HTTP itself forbids controls other than tab in a header value: the client refuses to send them."""
    text = str(mutation.value)
    return not any(ord(c) < 0x20 and c != "\t" or c == "\x7f" for c in text)


HEADER_MUTATIONS = [m for m in TEXT_MUTATIONS if _sendable_in_a_header(m)]


def mutations_for(target: Field, call: Call) -> list[Mutation]:
    if target[0] == "auth":
        return HEADER_MUTATIONS
    if target[0] == "body" or (target[0] == "query" and len(target) > 2):
        return JSON_MUTATIONS
    if target[0] == "query":
        given = dict(call.query)[target[1]]
        return JSON_TEXT_MUTATIONS if isinstance(given, Json) else QUERY_MUTATIONS
    return TEXT_MUTATIONS


def apply(call: Call, target: Field, mutation: Mutation) -> Call:
    """A copy of the call with one field changed."""
    changed = copy.deepcopy(call)
    where, name = target[0], target[1]
    if where == "path":
        changed.path_params[name] = "" if mutation.kind == "remove" else str(mutation.value)
    elif where == "auth":
        creds = changed.credentials
        text = "" if mutation.kind == "remove" else str(mutation.value)
        changed.credentials = type(creds)(text, creds.secret, creds.project_id)
    elif where == "body":
        _set(changed, "body", changed.body, target[1:], mutation)
    elif len(target) > 2:  # inside a JSON-valued query parameter
        index = [k for k, _ in changed.query].index(name)
        inner = copy.deepcopy(changed.query[index][1].value)
        holder = {"v": inner}
        _set(holder, "v", inner, target[2:], mutation)
        changed.query[index] = (name, Json(holder["v"]))
    else:
        index = [k for k, _ in changed.query].index(name)
        if mutation.kind == "remove":
            del changed.query[index]
        elif mutation.kind == "repeat":
            value = changed.query[index][1] if mutation.value is None else mutation.value
            changed.query.insert(index + 1, (name, value))
        else:
            changed.query[index] = (name, mutation.value)
    return changed


def _set(owner: Any, attr: str, root: Any, keys: tuple[Any, ...], mutation: Mutation) -> None:
    """Replace or remove root[keys...]; the value written is a fresh copy of the mutation's value."""
    parent = root
    for key in keys[:-1]:
        parent = parent[key]
    last = keys[-1]
    if mutation.kind == "remove":
        del parent[last]
    else:
        parent[last] = copy.deepcopy(mutation.value)
    if isinstance(owner, dict):
        owner[attr] = root
    else:
        setattr(owner, attr, root)


def one_field(call: Call) -> st.SearchStrategy[tuple[Field, Mutation]]:
    """A field of the call and one mutation that fits it."""
    return st.sampled_from(fields(call)).flatmap(
        lambda target: st.tuples(st.just(target), st.sampled_from(mutations_for(target, call)))
    )

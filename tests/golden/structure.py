"""The structure of a JSON answer, and its comparison with the structure Okta records.

A structure maps key paths to JSON types. A key path names a value by the
keys that lead to it from the top, joined by dots; ``[]`` stands for every
element of an array, so ``_embedded.factors[]._links.verify.hints.allow[]``
is each method a factor's verify link allows. Values that differ from one
answer to the next (ids, tokens, names) are not compared; their *formats*
are (``Format``), and so are the few values that are part of the protocol:
``status``, link names, ``hints.allow`` (``Shape.values``, ``Link``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

STRING, NUMBER, BOOLEAN, OBJECT, ARRAY, NULL = (
    "string",
    "number",
    "boolean",
    "object",
    "array",
    "null",
)


def json_type(value: Any) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return ARRAY
    return OBJECT


def key_paths(document: Any) -> dict[str, set[str]]:
    """Every key path in ``document``, with the JSON types found at it."""
    found: dict[str, set[str]] = {}
    for path, value in _walk(document, ""):
        found.setdefault(path, set()).add(json_type(value))
    return found


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if path:
        yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, f"{path}[]")


def generic(where: str) -> str:
    """``_embedded.factors[2].id`` → ``_embedded.factors[].id``."""
    return re.sub(r"\[\d+\]", "[]", where)


@dataclass(frozen=True)
class Source:
    """Where a recorded answer was read: a file of a public repository at a commit."""

    repo: str
    path: str
    commit: str

    def __str__(self) -> str:
        return f"{self.repo}:{self.path}@{self.commit[:12]}"


@dataclass(frozen=True)
class Format:
    """The format every recorded value at a key path has (a full-match pattern)."""

    name: str
    pattern: str

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class Link:
    """A link object: the path of its ``href`` (``{…}`` stands for an id or a
    token), the values its ``name`` takes (none: it has no name), the methods
    of ``hints.allow`` (authn and factors), or its ``method`` (users)."""

    path: str
    names: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    method: str | None = None

    def href_pattern(self) -> str:
        parts = re.split(r"\{[^}]*\}", self.path)
        return "[^/]+".join(re.escape(part) for part in parts)


@dataclass(frozen=True)
class Shape:
    """What one kind of Okta answer holds, as its recordings show it.

    ``required`` key paths are in every recording whose answer has the
    path's parent; ``optional`` ones in some. Each maps to its JSON type
    (``"null|object"`` where recordings differ). ``factors`` names the key
    paths of factor objects, whose structure depends on ``factorType``: each
    is compared with the element shape for its type. ``maps`` are objects
    keyed by ids: their own type is compared, not their keys.
    """

    doc: str
    sources: tuple[Source, ...]
    required: Mapping[str, str]
    optional: Mapping[str, str] = field(default_factory=dict)
    formats: Mapping[str, Format] = field(default_factory=dict)
    values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    links: Mapping[str, Link] = field(default_factory=dict)
    factors: Mapping[str, Mapping[str, Shape]] = field(default_factory=dict)
    maps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One way an answer differs from a shape.

    ``kind`` is ``missing`` (Okta sends the key path), ``type``, ``format``,
    ``value`` or ``extra`` (Okta's recordings never have the key path).
    ``path`` is the generic key path, ``where`` the place in this answer.
    """

    kind: str
    path: str
    where: str
    detail: str

    def within(self, where: str) -> Finding:
        return Finding(
            self.kind, f"{generic(where)}.{self.path}", f"{where}.{self.where}", self.detail
        )

    def __str__(self) -> str:
        return f"{self.kind:7} {self.where}: {self.detail}"


def compare(shape: Shape, document: Any) -> list[Finding]:
    """Every way ``document`` differs from ``shape``, in a stable order."""
    return [
        *_presence_and_types(shape, document),
        *_formats(shape, document),
        *_values(shape, document),
        *_links(shape, document),
        *_factors(shape, document),
        *_extras(shape, document),
    ]


def _tokens(path: str) -> list[str]:
    tokens: list[str] = []
    for part in path.split("."):
        key, brackets = part.split("[", 1) if "[" in part else (part, "")
        tokens.append(key)
        tokens.extend("[]" for _ in range(brackets.count("]")))
    return tokens


def _locate(document: Any, path: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """Each place ``path`` reaches in ``document``, and each object that lacks
    only the path's last key (a parent that is itself absent is not counted:
    its own path reports it)."""
    places: list[tuple[str, Any]] = [("", document)]
    absent: list[str] = []
    tokens = _tokens(path)
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        reached: list[tuple[str, Any]] = []
        for where, node in places:
            if token == "[]":
                if isinstance(node, list):
                    reached.extend((f"{where}[{n}]", item) for n, item in enumerate(node))
            elif isinstance(node, dict):
                at = f"{where}.{token}" if where else token
                if token in node:
                    reached.append((at, node[token]))
                elif last:
                    absent.append(at)
        places = reached
    return places, absent


def _presence_and_types(shape: Shape, document: Any) -> Iterator[Finding]:
    for path, types in {**shape.optional, **shape.required}.items():
        places, absent = _locate(document, path)
        if path in shape.required:
            for where in absent:
                yield Finding("missing", path, where, f"Okta sends {path} ({types})")
        for where, value in places:
            if json_type(value) not in types.split("|"):
                yield Finding("type", path, where, f"{json_type(value)}, Okta sends {types}")


def _formats(shape: Shape, document: Any) -> Iterator[Finding]:
    for path, expected in shape.formats.items():
        for where, value in _locate(document, path)[0]:
            if value is not None and not expected.matches(value):
                yield Finding("format", path, where, f"{value!r} is not {expected.name}")


def _values(shape: Shape, document: Any) -> Iterator[Finding]:
    for path, allowed in shape.values.items():
        for where, value in _locate(document, path)[0]:
            if value not in allowed:
                yield Finding("value", path, where, f"{value!r}, Okta sends {sorted(allowed)}")


def _links(shape: Shape, document: Any) -> Iterator[Finding]:
    for path, expected in shape.links.items():
        for where, node in _locate(document, path)[0]:
            if isinstance(node, dict):
                yield from _link(path, where, node, expected)


def _link(path: str, where: str, node: dict[str, Any], expected: Link) -> Iterator[Finding]:
    href = urlsplit(str(node.get("href", "")))
    if href.scheme not in ("http", "https") or not href.netloc:
        yield Finding("format", f"{path}.href", f"{where}.href", "not an absolute URL")
    elif not re.fullmatch(expected.href_pattern(), href.path):
        yield Finding(
            "format", f"{path}.href", f"{where}.href", f"{href.path}, not {expected.path}"
        )
    if expected.names and node.get("name") not in expected.names:
        detail = f"{node.get('name')!r}, Okta sends {list(expected.names)}"
        yield Finding("value", f"{path}.name", f"{where}.name", detail)
    allow = node.get("hints", {}).get("allow") if isinstance(node.get("hints"), dict) else None
    if expected.allow and allow != list(expected.allow):
        detail = f"{allow!r}, Okta sends {list(expected.allow)}"
        yield Finding("value", f"{path}.hints.allow", f"{where}.hints.allow", detail)
    if expected.method and node.get("method") != expected.method:
        detail = f"{node.get('method')!r}, Okta sends {expected.method!r}"
        yield Finding("value", f"{path}.method", f"{where}.method", detail)


def _factors(shape: Shape, document: Any) -> Iterator[Finding]:
    for path, by_type in shape.factors.items():
        for where, node in _locate(document, path)[0]:
            kind = node.get("factorType") if isinstance(node, dict) else None
            element = by_type.get(str(kind))
            if element is None:
                detail = f"no recorded {path} of factorType {kind!r}"
                yield Finding("value", f"{path}.factorType", f"{where}.factorType", detail)
                continue
            yield from (finding.within(where) for finding in compare(element, node))


def _extras(shape: Shape, document: Any) -> Iterator[Finding]:
    known = {**shape.required, **shape.optional}
    inside = [*shape.factors, *shape.maps]
    for path in key_paths(document):
        if path in known or any(_under(path, outer) for outer in inside):
            continue
        inside.append(path)  # report the outermost extra key only
        yield Finding("extra", path, path, "not in any of Okta's recordings")


def _under(path: str, outer: str) -> bool:
    return path.startswith((f"{outer}.", f"{outer}["))


@dataclass(frozen=True)
class Difference:
    """A known way Portcullis's answers differ from Okta's (docs/compatibility.md):
    the walks whose answers show it, and the key paths of its findings."""

    id: str
    reason: str
    walks: tuple[str, ...]
    paths: tuple[str, ...]

    def explains(self, finding: Finding) -> bool:
        return any(finding.path == path or _under(finding.path, path) for path in self.paths)

    def findings(self, findings: list[Finding]) -> list[Finding]:
        return [finding for finding in findings if self.explains(finding)]


def unexplained(findings: list[Finding], known: list[Difference]) -> list[Finding]:
    """The findings no known difference explains."""
    return [f for f in findings if not any(d.explains(f) for d in known)]

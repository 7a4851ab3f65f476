"""Okta's ``filter`` / ``search`` expressions, parsed into a small tree.

Grammar (SCIM-style, as Okta's list operations accept it)::

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "(" expr ")" | ATTR "pr" | ATTR OP VALUE
    OP      := eq | ne | gt | ge | lt | le | sw | co
    VALUE   := "string" | true | false | null | number

The store turns the tree into SQL; the domain only says what was asked.
An expression holds at most ``MAX_COMPARISONS`` comparisons and nests at
most ``MAX_NESTING`` parentheses deep: beyond that the parser would recurse
past Python's limit, or SQLite refuse the SQL ("Expression tree is too
large"), and no listing needs that much.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "sw", "co", "pr"})
MAX_COMPARISONS = 100
MAX_NESTING = 10

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<word>[A-Za-z_][A-Za-z0-9_.:]*) |
        (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)


class FilterSyntaxError(ValueError):
    """The expression is not one this grammar accepts."""


@dataclass(frozen=True)
class Comparison:
    attribute: str
    operator: str
    value: str | bool | float | None


@dataclass(frozen=True)
class Junction:
    operator: str  # "and" | "or"
    operands: tuple[Expression, ...]


Expression = Comparison | Junction


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterSyntaxError(f"unexpected character at position {pos}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0  # parentheses open at this point
        self.comparisons = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterSyntaxError("unexpected end of expression")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def expression(self) -> Expression:
        operands = [self.term()]
        while self.keyword("or"):
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Junction("or", tuple(operands))

    def term(self) -> Expression:
        operands = [self.factor()]
        while self.keyword("and"):
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else Junction("and", tuple(operands))

    def factor(self) -> Expression:
        kind, text = self.take()
        if kind == "lparen":
            return self.parenthesised()
        if kind != "word":
            raise FilterSyntaxError(f"expected an attribute, got {text!r}")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise FilterSyntaxError(f"more than {MAX_COMPARISONS} comparisons")
        op_kind, op = self.take()
        op = op.lower()
        if op_kind != "word" or op not in OPERATORS:
            raise FilterSyntaxError(f"unknown operator {op!r}")
        if op == "pr":
            return Comparison(text, op, None)
        return Comparison(text, op, self.value())

    def parenthesised(self) -> Expression:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FilterSyntaxError(f"parentheses nested more than {MAX_NESTING} deep")
        inner = self.expression()
        if self.take()[0] != "rparen":
            raise FilterSyntaxError("missing ')'")
        self.depth -= 1
        return inner

    def value(self) -> str | bool | float | None:
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text)
        if kind == "word" and text in ("true", "false"):
            return text == "true"
        if kind == "word" and text == "null":
            return None
        raise FilterSyntaxError(f"expected a value, got {text!r}")


def parse(text: str) -> Expression:
    """Parse an Okta filter or search expression; raise FilterSyntaxError."""
    parser = _Parser(_tokenize(text))
    if parser.peek() is None:
        raise FilterSyntaxError("empty expression")
    tree = parser.expression()
    if parser.peek() is not None:
        raise FilterSyntaxError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return tree


def attributes(tree: Expression) -> set[str]:
    """Every attribute an expression mentions."""
    if isinstance(tree, Comparison):
        return {tree.attribute}
    return set().union(*(attributes(op) for op in tree.operands))

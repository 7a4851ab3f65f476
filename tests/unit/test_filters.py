from __future__ import annotations

import pytest

from app.domain.filters import (
    MAX_COMPARISONS,
    MAX_NESTING,
    Comparison,
    FilterSyntaxError,
    Junction,
    attributes,
    parse,
)


def test_simple_comparison() -> None:
    assert parse('status eq "ACTIVE"') == Comparison("status", "eq", "ACTIVE")


def test_and_binds_tighter_than_or() -> None:
    tree = parse('a eq "1" or b eq "2" and c pr')
    assert tree == Junction(
        "or",
        (
            Comparison("a", "eq", "1"),
            Junction("and", (Comparison("b", "eq", "2"), Comparison("c", "pr", None))),
        ),
    )


def test_parentheses_values_and_escapes() -> None:
    tree = parse('(profile.nickName eq "say \\"hi\\"") AND count gt 3 and flag eq true')
    assert tree == Junction(
        "and",
        (
            Comparison("profile.nickName", "eq", 'say "hi"'),
            Comparison("count", "gt", 3.0),
            Comparison("flag", "eq", True),
        ),
    )
    assert attributes(tree) == {"profile.nickName", "count", "flag"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "status",
        "status eq",
        'status like "x"',
        '(a eq "1"',
        'a eq "1")',
        'a eq "1" b',
        "a eq ?",
        '"x" eq a',
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse(text)


def test_nesting_is_bounded() -> None:
    at_limit = "(" * MAX_NESTING + "a pr" + ")" * MAX_NESTING
    assert parse(at_limit) == Comparison("a", "pr", None)
    for depth in (MAX_NESTING + 1, 5000):  # 5000 used to be a RecursionError
        with pytest.raises(FilterSyntaxError, match="nested more than"):
            parse("(" * depth + "a pr" + ")" * depth)


def test_the_number_of_comparisons_is_bounded() -> None:
    tree = parse(" or ".join(["a pr"] * MAX_COMPARISONS))
    assert isinstance(tree, Junction) and len(tree.operands) == MAX_COMPARISONS
    with pytest.raises(FilterSyntaxError, match=f"more than {MAX_COMPARISONS} comparisons"):
        parse(" and ".join(["a pr"] * (MAX_COMPARISONS + 1)))

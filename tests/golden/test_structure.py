"""The comparator the golden tests rest on: what it reports, and what it does not."""

from __future__ import annotations

from typing import Any

from tests.golden.structure import (
    NUMBER,
    OBJECT,
    STRING,
    Difference,
    Format,
    Link,
    Shape,
    compare,
    unexplained,
)

ELEMENT = Shape("an element", (), required={"factorType": STRING, "id": STRING})
SHAPE = Shape(
    "a test shape",
    (),
    required={
        "status": STRING,
        "_links": OBJECT,
        "_links.next": OBJECT,
        "_links.next.href": STRING,
        "_links.next.name": STRING,
        "_links.next.hints": OBJECT,
        "_links.next.hints.allow": "array",
        "_links.next.hints.allow[]": STRING,
        "policy.size": NUMBER,
        "factors": "array",
        "factors[]": OBJECT,
    },
    optional={"policy": OBJECT},
    formats={"status": Format("capitals", r"[A-Z_]+")},
    links={
        "_links.next": Link("/api/v1/authn/factors/{id}/verify", names=("verify",), allow=("POST",))
    },
    factors={"factors[]": {"sms": ELEMENT}},
)


def answer(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "MFA_CHALLENGE",
        "_links": {
            "next": {
                "name": "verify",
                "href": "https://x.example/api/v1/authn/factors/sms1/verify",
                "hints": {"allow": ["POST"]},
            }
        },
        "factors": [{"factorType": "sms", "id": "sms1"}],
    }
    body.update(changes)
    return body


def kinds(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f.kind, f.where) for f in compare(SHAPE, body)}


def test_an_answer_with_the_shape_has_no_findings() -> None:
    assert compare(SHAPE, answer()) == []
    assert compare(SHAPE, answer(policy={"size": 3})) == []


def test_a_missing_key_a_wrong_type_and_a_bad_format_are_reported() -> None:
    body = answer(policy={}, status=5)
    del body["_links"]["next"]["hints"]
    assert kinds(body) == {
        ("missing", "_links.next.hints"),
        ("missing", "policy.size"),
        ("type", "status"),
        ("format", "status"),
        ("value", "_links.next.hints.allow"),
    }


def test_extras_are_reported_once_at_the_outermost_key() -> None:
    assert kinds(answer(more={"deeper": {"deepest": 1}})) == {("extra", "more")}


def test_factor_elements_are_compared_one_by_one_with_their_type() -> None:
    factors = [{"factorType": "sms", "id": "a"}, {"factorType": "sms"}, {"factorType": "push"}]
    assert kinds(answer(factors=factors)) == {
        ("value", "factors[2].factorType"),
        ("missing", "factors[1].id"),
    }


def test_a_link_is_checked_for_its_path_name_and_methods() -> None:
    body = answer()
    body["_links"]["next"].update(
        name="activate", href="https://x.example/api/v1/authn/cancel", hints={"allow": ["GET"]}
    )
    assert kinds(body) == {
        ("format", "_links.next.href"),
        ("value", "_links.next.name"),
        ("value", "_links.next.hints.allow"),
    }


def test_a_difference_explains_findings_at_and_below_its_paths() -> None:
    body = answer(policy={})
    del body["_links"]["next"]
    findings = compare(SHAPE, body)
    known = Difference("d", "why", ("w",), ("_links.next",))
    assert [f.where for f in known.findings(findings)] == ["_links.next"]
    assert [f.where for f in unexplained(findings, [known])] == ["policy.size"]

"""Strings bound for a sized column, and a listing's parameters, are checked at the door.

PostgreSQL refuses a string longer than its ``VARCHAR`` column at INSERT (a
500 until now), SQLite keeps it. Each such field has a limit
(app.domain.lengths): at the limit the value is stored; one over is
``400 E0000001`` naming the field (WorkOS' 422 under ``/auth/``) and nothing
is written, on both backends. A listing's ``after``, ``q``, ``filter`` and
``search`` are bounded too, and what does not parse is a 400, never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain import filters, lengths
from app.services import workos_mfa
from app.store import models
from tests.api.test_input_limits import _assert_too_long

SCOPES = [{"type": "CORS"}]
#: "İ" lower-cases to two characters: "i" and a combining dot.
DOTTED_I = "\u0130"


def _assert_e0000001(r: Any, cause: str) -> None:
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert {"errorSummary": cause} in body["errorCauses"]


# ---- the limits and the columns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "columns"),
    [
        (lengths.LOGIN, [models.UserRow.login]),
        (lengths.GROUP_NAME, [models.GroupRow.name, models.GroupRow.name_lower]),
        (lengths.POLICY_NAME, [models.PolicyRow.name, models.PolicyRuleRow.name]),
        (lengths.TRUSTED_ORIGIN_NAME, [models.TrustedOriginRow.name]),
        (lengths.TRUSTED_ORIGIN, [models.TrustedOriginRow.origin]),
        (
            lengths.WORKOS_FACTOR_LABEL,
            [
                models.WorkosFactorRow.totp_issuer,
                models.WorkosFactorRow.totp_user,
                models.WorkosFactorRow.user_id,
            ],
        ),
        (lengths.CREDENTIAL_NAME, [models.ApiTokenRow.name, models.ApiKeyRow.name]),
    ],
)
def test_each_limit_fits_its_columns(limit: int, columns: list[Any]) -> None:
    for column in columns:
        assert limit <= column.type.length, column


def test_a_login_lower_cased_still_fits_its_key() -> None:
    # login_lower is login.lower(): at most twice as long ("İ").
    assert models.UserRow.login_lower.type.length >= 2 * lengths.LOGIN


def test_the_openapi_document_shows_the_limits(anonymous: Any) -> None:
    spec = anonymous.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    expected = {
        ("PolicyIn", "name"): lengths.POLICY_NAME,
        ("RuleIn", "name"): lengths.POLICY_NAME,
        ("TrustedOriginIn", "name"): lengths.TRUSTED_ORIGIN_NAME,
        ("TrustedOriginIn", "origin"): lengths.TRUSTED_ORIGIN,
        ("GroupProfile", "name"): lengths.GROUP_NAME,
        ("GroupProfile", "description"): lengths.GROUP_DESCRIPTION,
        ("WorkosEnroll", "totp_issuer"): lengths.WORKOS_FACTOR_LABEL,
        ("WorkosEnroll", "totp_user"): lengths.WORKOS_FACTOR_LABEL,
        ("WorkosEnroll", "user_id"): lengths.WORKOS_FACTOR_LABEL,
    }
    for (schema, field), limit in expected.items():
        assert schemas[schema]["properties"][field]["maxLength"] == limit, (schema, field)
    for path, names in [
        ("/api/v1/users", {"q", "filter", "search", "after"}),
        ("/api/v1/groups", {"q", "filter", "after"}),
        ("/api/v1/groups/{group_id}/users", {"after"}),
        ("/api/v1/trustedOrigins", {"after"}),
    ]:
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        for name in names:
            limit = lengths.CURSOR if name == "after" else lengths.LIST_EXPRESSION
            assert params[name]["schema"]["maxLength"] == limit, (path, name)


# ---- policies and rules ------------------------------------------------------------------


def _policy_names(api: Any) -> list[str]:
    return [p["name"] for p in api.get("/api/v1/policies?type=PASSWORD").get_json()]


def test_a_policy_name_over_the_limit_is_refused_and_nothing_is_written(api: Any) -> None:
    before = _policy_names(api)
    name = "p" * (lengths.POLICY_NAME + 1)
    r = api.post("/api/v1/policies", json={"type": "PASSWORD", "name": name})
    _assert_too_long(r, "name", lengths.POLICY_NAME)
    assert _policy_names(api) == before


def test_a_policy_name_at_the_limit_is_kept_and_cannot_grow(api: Any) -> None:
    name = "p" * lengths.POLICY_NAME
    r = api.post("/api/v1/policies", json={"type": "PASSWORD", "name": name})
    assert r.status_code == 200, r.get_json()
    policy = r.get_json()
    assert policy["name"] == name
    r = api.put(f"/api/v1/policies/{policy['id']}", json={"name": name + "p"})
    _assert_too_long(r, "name", lengths.POLICY_NAME)
    assert api.get(f"/api/v1/policies/{policy['id']}").get_json()["name"] == name


def test_rule_names_are_bounded(api: Any) -> None:
    r = api.post("/api/v1/policies", json={"type": "PASSWORD", "name": "Bounded"})
    rules = f"/api/v1/policies/{r.get_json()['id']}/rules"

    def names() -> list[str]:
        return [rule["name"] for rule in api.get(rules).get_json()]

    before = names()
    r = api.post(rules, json={"name": "r" * (lengths.POLICY_NAME + 1)})
    _assert_too_long(r, "name", lengths.POLICY_NAME)
    assert names() == before
    at_limit = "r" * lengths.POLICY_NAME
    r = api.post(rules, json={"name": at_limit})
    assert r.status_code == 200, r.get_json()
    rule_id = r.get_json()["id"]
    r = api.put(f"{rules}/{rule_id}", json={"name": at_limit + "r"})
    _assert_too_long(r, "name", lengths.POLICY_NAME)
    assert api.get(f"{rules}/{rule_id}").get_json()["name"] == at_limit


# ---- trusted origins ---------------------------------------------------------------------


def _origins(api: Any) -> list[dict[str, Any]]:
    return api.get("/api/v1/trustedOrigins").get_json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("field", "body", "limit"),
    [
        (
            "name",
            {"name": "n" * (lengths.TRUSTED_ORIGIN_NAME + 1), "origin": "https://a.example"},
            lengths.TRUSTED_ORIGIN_NAME,
        ),
        (
            "origin",
            {"name": "n", "origin": "https://" + "a" * (lengths.TRUSTED_ORIGIN - 7)},
            lengths.TRUSTED_ORIGIN,
        ),
    ],
)
def test_a_trusted_origin_field_over_the_limit_is_refused(
    api: Any, field: str, body: dict[str, Any], limit: int
) -> None:
    r = api.post("/api/v1/trustedOrigins", json={**body, "scopes": SCOPES})
    _assert_too_long(r, field, limit)
    assert _origins(api) == []


def test_trusted_origin_fields_at_the_limit_are_kept_and_cannot_grow(api: Any) -> None:
    name = "n" * lengths.TRUSTED_ORIGIN_NAME
    origin = "https://" + "a" * (lengths.TRUSTED_ORIGIN - 8)
    r = api.post("/api/v1/trustedOrigins", json={"name": name, "origin": origin, "scopes": SCOPES})
    assert r.status_code == 200, r.get_json()
    created = r.get_json()
    assert (created["name"], created["origin"]) == (name, origin)
    url = f"/api/v1/trustedOrigins/{created['id']}"
    r = api.put(url, json={"name": name + "n", "origin": origin, "scopes": SCOPES})
    _assert_too_long(r, "name", lengths.TRUSTED_ORIGIN_NAME)
    assert api.get(url).get_json()["name"] == name


def test_an_origin_that_normalises_past_the_limit_is_refused(api: Any) -> None:
    # 132 characters as sent; the host lower-cased is twice as long.
    origin = "https://" + DOTTED_I * 124
    r = api.post("/api/v1/trustedOrigins", json={"name": "n", "origin": origin, "scopes": SCOPES})
    _assert_e0000001(
        r, f"origin: The field cannot exceed {lengths.TRUSTED_ORIGIN} characters once normalised."
    )
    assert _origins(api) == []


# ---- groups ------------------------------------------------------------------------------


def _group_names(api: Any) -> list[str]:
    return [g["profile"]["name"] for g in api.get("/api/v1/groups").get_json()]


@pytest.mark.parametrize(
    ("profile", "field", "limit"),
    [
        ({"name": "g" * (lengths.GROUP_NAME + 1)}, "profile.name", lengths.GROUP_NAME),
        (
            {"name": "g", "description": "d" * (lengths.GROUP_DESCRIPTION + 1)},
            "profile.description",
            lengths.GROUP_DESCRIPTION,
        ),
    ],
)
def test_a_group_field_over_the_limit_is_refused(
    api: Any, profile: dict[str, Any], field: str, limit: int
) -> None:
    before = _group_names(api)
    _assert_too_long(api.post("/api/v1/groups", json={"profile": profile}), field, limit)
    assert _group_names(api) == before


def test_group_fields_at_the_limit_are_kept_and_cannot_grow(api: Any) -> None:
    profile = {"name": "g" * lengths.GROUP_NAME, "description": "d" * lengths.GROUP_DESCRIPTION}
    r = api.post("/api/v1/groups", json={"profile": profile})
    assert r.status_code == 200, r.get_json()
    url = f"/api/v1/groups/{r.get_json()['id']}"
    assert r.get_json()["profile"] == profile
    r = api.put(url, json={"profile": {**profile, "name": profile["name"] + "g"}})
    _assert_too_long(r, "profile.name", lengths.GROUP_NAME)
    assert api.get(url).get_json()["profile"] == profile


def test_a_group_name_whose_lower_case_key_is_too_long_is_refused(api: Any) -> None:
    before = _group_names(api)
    r = api.post("/api/v1/groups", json={"profile": {"name": DOTTED_I * 128}})
    _assert_e0000001(
        r, f"name: The field cannot exceed {lengths.GROUP_NAME} characters in lower case."
    )
    assert _group_names(api) == before


# ---- users: Okta's login limit ------------------------------------------------------------


def _login(length: int) -> str:
    domain = "@example.com"
    return "u" * (length - len(domain)) + domain


def test_a_login_at_okta_limit_is_accepted_and_one_over_is_not(api: Any) -> None:
    login = _login(lengths.LOGIN)
    profile = {"login": login, "email": login, "firstName": "U", "lastName": "V"}
    r = api.post("/api/v1/users", json={"profile": profile})
    assert r.status_code == 200, r.get_json()
    user_id = r.get_json()["id"]
    too_long = _login(lengths.LOGIN + 1)
    r = api.post("/api/v1/users", json={"profile": {**profile, "login": too_long}})
    _assert_e0000001(r, "login: Username must be in the form of an email address")
    r = api.post(f"/api/v1/users/{user_id}", json={"profile": {"login": too_long}})
    _assert_e0000001(r, "login: Username must be in the form of an email address")
    assert [u["profile"]["login"] for u in api.get("/api/v1/users").get_json()] == [login]


# ---- the WorkOS-style MFA API ----------------------------------------------------------------


@pytest.fixture
def mfa(app: Any, ctx: Any) -> Any:
    _, key = workos_mfa.create_api_key(ctx, "tests")
    client = app.test_client()

    def enroll(**body: Any) -> Any:
        return client.post(
            "/auth/factors/enroll", json=body, headers={"Authorization": f"Bearer {key}"}
        )

    return enroll


def _workos_factors(ctx: Any) -> int:
    with ctx.stores.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(models.WorkosFactorRow)))


TOTP = {"type": "totp", "totp_issuer": "Foo Corp", "totp_user": "alan@foo-corp.com"}


@pytest.mark.parametrize("field", ["totp_issuer", "totp_user", "user_id"])
def test_a_workos_label_over_the_limit_is_422_in_workos_shape(
    mfa: Any, ctx: Any, field: str
) -> None:
    r = mfa(**{**TOTP, field: "x" * (lengths.WORKOS_FACTOR_LABEL + 1)})
    assert r.status_code == 422, r.get_json()
    message = f"The field cannot exceed {lengths.WORKOS_FACTOR_LABEL} characters."
    assert r.get_json() == {
        "code": "invalid_request_parameters",
        "message": "Validation failed",
        "errors": [{"field": field, "code": "invalid", "message": message}],
    }
    assert _workos_factors(ctx) == 0


def test_workos_labels_at_the_limit_are_kept(mfa: Any, ctx: Any) -> None:
    label = "x" * lengths.WORKOS_FACTOR_LABEL
    r = mfa(type="totp", totp_issuer=label, totp_user=label, user_id=label)
    assert r.status_code == 201, r.get_json()
    factor = r.get_json()
    assert factor["user_id"] == label
    assert (factor["totp"]["issuer"], factor["totp"]["user"]) == (label, label)
    assert _workos_factors(ctx) == 1


def test_a_huge_phone_number_is_invalid_not_a_500(mfa: Any, ctx: Any) -> None:
    # Stored normalised (E.164, 16 characters at most); refused as sent if it is not a number.
    r = mfa(type="sms", phone_number="+1" + "5" * 10_000)
    assert r.status_code == 422
    assert r.get_json()["errors"][0] == {
        "field": "phone_number",
        "code": "phone_number_invalid",
        "message": "Phone number is invalid.",
    }
    assert _workos_factors(ctx) == 0


# ---- API tokens and keys (the command line) ------------------------------------------------


@pytest.mark.parametrize("command", ["create-token", "create-api-key"])
def test_a_credential_name_over_the_limit_is_refused_by_the_cli(app: Any, command: str) -> None:
    runner = app.test_cli_runner()
    listing = "list-tokens" if command == "create-token" else "list-api-keys"
    with app.app_context():
        result = runner.invoke(args=[command, "--name", "n" * (lengths.CREDENTIAL_NAME + 1)])
        assert result.exit_code == 2
        assert f"at most {lengths.CREDENTIAL_NAME} characters" in result.output
        assert runner.invoke(args=[listing]).output == ""
        result = runner.invoke(args=[command, "--name", "n" * lengths.CREDENTIAL_NAME])
        assert result.exit_code == 0, result.output
        assert "n" * lengths.CREDENTIAL_NAME in runner.invoke(args=[listing]).output


# ---- listings: cursors ---------------------------------------------------------------------


def _everyone(api: Any) -> str:
    (group,) = api.get("/api/v1/groups?q=Everyone").get_json()
    return str(group["id"])


LISTINGS = [
    "/api/v1/users",
    "/api/v1/groups",
    "/api/v1/groups/{everyone}/users",
    "/api/v1/trustedOrigins",
]


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_cursor_over_the_limit_is_refused(api: Any, listing: str) -> None:
    url = listing.format(everyone=_everyone(api))
    r = api.get(f"{url}?after={'1' * (lengths.CURSOR + 1)}")
    _assert_too_long(r, "after", lengths.CURSOR)


#: Cursors this server never issues; each is a 400, on every listing.
BAD_CURSORS = [
    "9" * 30,  # past a signed 64-bit integer: SQLite cannot bind it
    str(2**31),  # past PostgreSQL's INTEGER
    str(10**9),  # ten digits: never issued (nine at most)
    "0",  # sequence numbers start at 1
    "007",  # never issued with leading zeros
    "9" * lengths.CURSOR,
    "\u00b2",  # "²".isdigit(), yet int() refuses it
    "\u0661\u0662",  # Arabic-Indic digits
    "-1",
    "1.5",
    "abc",
]


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_cursor_we_never_issue_is_400(api: Any, listing: str) -> None:
    url = listing.format(everyone=_everyone(api))
    for after in BAD_CURSORS:
        r = api.get(url, query_string={"after": after})
        _assert_e0000001(r, "after: Invalid cursor")


@pytest.mark.parametrize("listing", LISTINGS)
def test_the_largest_cursor_is_an_empty_page(api: Any, listing: str) -> None:
    url = listing.format(everyone=_everyone(api))
    r = api.get(url, query_string={"after": "999999999"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == []


# ---- listings: q, filter and search ---------------------------------------------------------

EXPRESSIONS = [
    ("/api/v1/users", "q"),
    ("/api/v1/users", "filter"),
    ("/api/v1/users", "search"),
    ("/api/v1/groups", "q"),
    ("/api/v1/groups", "filter"),
]


def test_an_expression_over_the_limit_is_refused(api: Any) -> None:
    # 100 000 characters made SQLite answer "LIKE or GLOB pattern too complex".
    for listing, param in EXPRESSIONS:
        for length in (lengths.LIST_EXPRESSION + 1, 100_000):
            r = api.get(listing, query_string={param: "x" * length})
            _assert_too_long(r, param, lengths.LIST_EXPRESSION)


def test_an_expression_at_the_limit_is_not_refused_for_its_length(api: Any) -> None:
    for listing, param in EXPRESSIONS:
        value = "x" * lengths.LIST_EXPRESSION if param == "q" else 'id eq "' + "x" * 2040 + '"'
        assert len(value) == lengths.LIST_EXPRESSION
        r = api.get(listing, query_string={param: value})
        assert r.status_code == 200, (listing, param, r.get_json())
        assert r.get_json() == []


def _nested(depth: int, inner: str = "id pr") -> str:
    return "(" * depth + inner + ")" * depth


def _ors(count: int, comparison: str = "id pr") -> str:
    return " or ".join([comparison] * count)


#: Filters that do not parse, and the cause of each (None: the listing's own words).
BAD_FILTERS = [
    # Each of the first four recursed past Python's limit, or past SQLite's expression depth.
    (_nested(filters.MAX_NESTING + 1), f"parentheses nested more than {filters.MAX_NESTING} deep"),
    (_nested(600), f"parentheses nested more than {filters.MAX_NESTING} deep"),
    (_ors(filters.MAX_COMPARISONS + 1), f"more than {filters.MAX_COMPARISONS} comparisons"),
    (_ors(200), f"more than {filters.MAX_COMPARISONS} comparisons"),
    ("id eq", "unexpected end of expression"),
    ('id eq "open', "unexpected character at position 5"),
    ('id zz "a"', "unknown operator 'zz'"),
    (")(", "expected an attribute, got ')'"),
    ("(id pr", "unexpected end of expression"),
    ('lastUpdated gt "yesterday"', None),
    ("nope eq 1", "unknown attribute nope"),
    ("profile.a-b eq 1", None),
    ("id sw 5", "'sw' needs a string"),
]

#: Filters at the limits: they run.
FILTERS_AT_THE_LIMITS = [
    _nested(filters.MAX_NESTING),
    _ors(filters.MAX_COMPARISONS),
    _nested(filters.MAX_NESTING, _ors(filters.MAX_COMPARISONS // 2)),
    "profile.x gt " + "9" * 400,  # a number past float's range: infinity
    'profile.x eq "' + "\u00e9" * 1000 + '"',
]


@pytest.mark.parametrize("listing", ["/api/v1/users", "/api/v1/groups"])
def test_a_filter_that_does_not_parse_is_400(api: Any, listing: str) -> None:
    for expression, cause in BAD_FILTERS:
        r = api.get(listing, query_string={"filter": expression})
        assert r.status_code == 400, (expression, r.get_json())
        body = r.get_json()
        assert body["errorCode"] == "E0000001"
        assert body["errorSummary"] == "Api validation failed: filter"
        if cause is not None:
            assert body["errorCauses"] == [{"errorSummary": f"filter: {cause}"}]


@pytest.mark.parametrize("listing", ["/api/v1/users", "/api/v1/groups"])
def test_a_filter_at_the_limits_runs(api: Any, listing: str) -> None:
    for expression in FILTERS_AT_THE_LIMITS:
        assert len(expression) <= lengths.LIST_EXPRESSION
        r = api.get(listing, query_string={"filter": expression})
        assert r.status_code == 200, (expression, r.get_json())


def test_a_search_at_the_comparison_limit_runs(api: Any, make_user: Any) -> None:
    make_user()
    brock = ' or profile.lastName eq "Brock"'
    expression = _ors(filters.MAX_COMPARISONS, "profile.a pr") + brock
    r = api.get("/api/v1/users", query_string={"search": expression})
    assert r.status_code == 400  # one comparison too many
    expression = _ors(filters.MAX_COMPARISONS - 1, "profile.a pr") + brock
    r = api.get("/api/v1/users", query_string={"search": expression})
    assert r.status_code == 200, r.get_json()
    assert [u["profile"]["lastName"] for u in r.get_json()] == ["Brock"]


def test_a_policy_type_of_any_length_is_400(api: Any) -> None:
    r = api.get("/api/v1/policies", query_string={"type": "X" * 100_000})
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"

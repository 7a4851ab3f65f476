"""The longest each string of the APIs may be, in characters.

On PostgreSQL a string longer than its ``VARCHAR`` column fails the INSERT
(SQLite keeps it), so every string that lands in a bounded column is checked
before anything is written: ``maxLength`` in its request schema (and so in
the OpenAPI document), 400 ``E0000001`` otherwise (WorkOS' 422 under
``/auth/``), on both backends alike. Each limit is the size of its column in
``app/store/models.py``, or Okta's documented limit where Okta has a smaller
one; ``tests/api/test_bounded_strings.py`` holds them against the columns.
"""

from __future__ import annotations

#: Okta's ``profile.login``: 5 to 100 characters (column ``users.login``, 255).
LOGIN = 100
#: Okta's group ``profile.name``: 1 to 255 (``groups.name`` and its lower-case key).
GROUP_NAME = 255
#: Okta's group ``profile.description``: up to 1024 (kept in the profile JSON).
GROUP_DESCRIPTION = 1024
#: ``policies.name`` and ``policy_rules.name``.
POLICY_NAME = 255
#: ``trusted_origins.name``.
TRUSTED_ORIGIN_NAME = 255
#: ``trusted_origins.origin``: as sent, and as normalised.
TRUSTED_ORIGIN = 255
#: The WorkOS factor's ``totp_issuer``, ``totp_user`` and ``user_id`` (``workos_factors``).
WORKOS_FACTOR_LABEL = 255
#: ``api_tokens.name`` and ``api_keys.name`` (given on the command line).
CREDENTIAL_NAME = 255
#: A listing's ``after``: a bound checked before the cursor is parsed.
CURSOR = 200
#: The cursors the server issues: a row's sequence number, from 1, in decimal,
#: up to nine digits (below PostgreSQL's 32-bit INTEGER, and a pattern the
#: OpenAPI document states exactly). Anything else is ``after: Invalid cursor``.
CURSOR_PATTERN = "[1-9][0-9]{0,8}"
#: A listing's ``q``, ``filter`` and ``search``.
LIST_EXPRESSION = 2048

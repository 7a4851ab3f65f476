"""Okta-style identifiers: a three-character type prefix and 17 base62 characters.

17 random base62 characters carry about 101 bits, so ids are unguessable as
well as unique. Prefixes follow what Okta's responses show.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime
from functools import cache

_ALPHABET = string.ascii_letters + string.digits

USER = "00u"
GROUP = "00g"
API_TOKEN = "00T"
ERROR = "oae"


USER_TYPE = "oty"
USER_SCHEMA = "osc"


@cache
def stable_id(prefix: str, secret: str, name: str, length: int = 20) -> str:
    """An id that is the same on every start of one deployment (derived from
    its ``secret`` and ``name``) and unguessable elsewhere: for objects that
    exist once, such as the default user type."""
    digest = int.from_bytes(hmac.new(secret.encode(), name.encode(), hashlib.sha256).digest())
    chars = []
    for _ in range(length - len(prefix)):
        digest, index = divmod(digest, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return prefix + "".join(chars)


def new_id(prefix: str, length: int = 20) -> str:
    """A random id such as ``00u1a2b3c4d5e6f7g8h9``."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length - len(prefix)))


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(moment: datetime) -> str:
    """A ULID: 48 bits of milliseconds, then 80 random bits, in Crockford base32.

    Sorted by creation time, as WorkOS' ``auth_factor_…``/``auth_challenge_…``
    ids are.
    """
    value = (int(moment.timestamp() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

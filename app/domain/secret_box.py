"""Authenticated encryption of factor secrets at rest (AES-256-GCM).

``ENCRYPTION_KEY`` holds one or more keys as ``kid:secret`` pairs separated
by commas; the first encrypts, all decrypt, so keys rotate by putting a new
one first. A bare secret (no ``kid:``) gets a key id derived from its hash.
Each sealed value is ``v1.<kid>.<base64url(nonce | ciphertext | tag)>``, and
the associated data binds it to its row (the factor id), so a ciphertext
copied to another row does not open.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
_INFO = b"portcullis secret box v1"


class SecretBoxError(ValueError):
    """A sealed value that cannot be opened (unknown key, tampered, malformed)."""


def _derive(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


def parse_keys(raw: str) -> list[tuple[str, str]]:
    """``"k2:new,k1:old"`` → ``[("k2", "new"), ("k1", "old")]``."""
    keys: list[tuple[str, str]] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        kid, sep, secret = part.partition(":")
        if not sep:
            kid, secret = hashlib.sha256(part.encode()).hexdigest()[:8], part
        if not kid.isalnum() or not secret:
            raise ValueError("ENCRYPTION_KEY entries are 'kid:secret' with an alphanumeric kid")
        keys.append((kid, secret))
    if not keys:
        raise ValueError("ENCRYPTION_KEY is empty")
    return keys


class SecretBox:
    def __init__(self, raw_keys: str) -> None:
        parsed = parse_keys(raw_keys)
        self.current = parsed[0][0]
        self._keys = {kid: AESGCM(_derive(secret)) for kid, secret in parsed}

    def seal(self, plaintext: bytes, associated: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self.current].encrypt(nonce, plaintext, associated)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.current}.{body}"

    def open(self, token: str, associated: bytes) -> bytes:
        try:
            version, kid, body = token.split(".", 2)
        except ValueError as exc:
            raise SecretBoxError("malformed sealed value") from exc
        if version != VERSION or kid not in self._keys:
            raise SecretBoxError(f"no key {kid!r} to open this value")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return self._keys[kid].decrypt(raw[:12], raw[12:], associated)
        except InvalidTag as exc:
            raise SecretBoxError("sealed value was tampered with") from exc

    def needs_reseal(self, token: str) -> bool:
        """True when ``token`` was sealed with a key other than the current one."""
        return not token.startswith(f"{VERSION}.{self.current}.")

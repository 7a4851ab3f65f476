"""A software WebAuthn authenticator for tests: an EC P-256 key pair that
answers ``navigator.credentials.create`` and ``get`` as a security key would
(attestation ``none`` or ``packed`` self-attestation), with the flags and the
counter a test asks for. CBOR by cbor2; never used by the server."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class SoftAuthenticator:
    rp_id: str
    origin: str
    aaguid: bytes = bytes(range(16))
    counter: int = 0
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        body = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps(body, separators=(",", ":")).encode()

    def _auth_data(self, rp_id: str | None, flags: int, attested: bool) -> bytes:
        data = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        data += bytes([flags]) + self.counter.to_bytes(4, "big")
        if attested:
            data += self.aaguid + len(self.credential_id).to_bytes(2, "big") + self.credential_id
            data += self.cose_key()
        return data

    def _sign(self, auth_data: bytes, client_data: bytes) -> bytes:
        signed = auth_data + hashlib.sha256(client_data).digest()
        return self.key.sign(signed, ec.ECDSA(hashes.SHA256()))

    def create(
        self,
        challenge: str,
        *,
        fmt: str = "none",
        origin: str | None = None,
        rp_id: str | None = None,
        present: bool = True,
        verified: bool = True,
    ) -> dict[str, Any]:
        """``{attestation, clientData}`` as Okta's activate call sends them."""
        client_data = self._client_data("webauthn.create", challenge, origin)
        flags = (UP if present else 0) | (UV if verified else 0) | AT
        auth_data = self._auth_data(rp_id, flags, attested=True)
        statement: dict[str, Any] = {}
        if fmt == "packed":  # self-attestation: signed by the credential's own key
            statement = {"alg": -7, "sig": self._sign(auth_data, client_data)}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return {"attestation": b64url(attestation), "clientData": b64url(client_data)}

    def get(
        self,
        challenge: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        present: bool = True,
        verified: bool = True,
        step: int = 1,
    ) -> dict[str, Any]:
        """``{clientData, authenticatorData, signatureData}`` as Okta's verify
        call sends them; the counter moves by ``step`` first (0: a clone)."""
        self.counter += step
        client_data = self._client_data("webauthn.get", challenge, origin)
        flags = (UP if present else 0) | (UV if verified else 0)
        auth_data = self._auth_data(rp_id, flags, attested=False)
        return {
            "clientData": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signatureData": b64url(self._sign(auth_data, client_data)),
        }

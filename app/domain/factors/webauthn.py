"""WebAuthn (passkeys and security keys): the two ceremonies' options and checks.

The CBOR, COSE and signature work is py_webauthn's (``webauthn`` 3.x, Duo's
library): this module turns Okta's wire format (base64url ``attestation``,
``clientData``, ``authenticatorData``, ``signatureData``) into its calls and
its refusals into one error with a cause a person can read. Pure: the
challenge's single use and expiry, and where a credential is kept, are the
callers' (the stores').

Each ceremony checks, through py_webauthn:

- the challenge the client signed is the one this ceremony issued;
- the origin is the server's own or one of ``WEBAUTHN_ORIGINS``;
- the authenticator data's ``rpIdHash`` is SHA-256 of ``WEBAUTHN_RP_ID``;
- the user was present, and verified when the options required it;
- the attestation (registration) or the signature (sign-in) against the
  credential's public key;
- the signature counter grows: one that does not marks a cloned
  authenticator (:class:`ClonedAuthenticator`), unless the authenticator
  keeps no counter (0 both before and now, as passkeys that sync do).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import (
    InvalidAttestationObjectStructure,
    InvalidAuthenticationResponse,
    InvalidAuthenticatorDataStructure,
    InvalidCBORData,
    InvalidJSONStructure,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

FACTOR_TYPE = "webauthn"
PROVIDER = "FIDO"
#: ES256 first (every authenticator), then EdDSA and RS256 (Windows Hello).
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
CHALLENGE_BYTES = 32
TIMEOUT_MS = 60_000


class Malformed(ValueError):
    """A field that is not base64url, or whose bytes are not what it names
    (400 E0000001): ``field`` says which."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(f"{field_name}: {detail}")
        self.field = field_name


class Refused(Exception):
    """The ceremony failed a check (403 E0000068): ``cause`` says which."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class ClonedAuthenticator(Refused):
    """The signature counter did not grow: two authenticators hold one credential."""


@dataclass(frozen=True)
class RelyingParty:
    """This server as WebAuthn sees it (``WEBAUTHN_RP_ID``, ``WEBAUTHN_ORIGINS``)."""

    id: str
    name: str
    origins: tuple[str, ...]
    #: Whether the ceremonies ask the authenticator to verify the user (PIN,
    #: biometrics): "required", "preferred" or "discouraged".
    user_verification: str = "preferred"

    @property
    def requires_verification(self) -> bool:
        return self.user_verification == "required"


@dataclass(frozen=True)
class Credential:
    """What is kept of a registered credential (its public key is COSE bytes)."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: tuple[str, ...] = ()
    attestation_format: str = "none"
    user_verified: bool = False


@dataclass(frozen=True)
class Options:
    """The options a browser passes to ``navigator.credentials.create`` or
    ``get``, as JSON (base64url byte fields), and the challenge in them."""

    json: dict[str, Any]
    challenge: bytes = field(repr=False)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def from_b64url(value: Any, field_name: str) -> bytes:
    """Bytes of a base64url (or base64) string; :class:`Malformed` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise Malformed(field_name, "must be a non-empty base64url string")
    text = value.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Malformed(field_name, "is not base64url") from exc


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_BYTES)


def registration_options(
    rp: RelyingParty,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    exclude: Sequence[bytes] = (),
    challenge: bytes | None = None,
) -> Options:
    """Options for ``navigator.credentials.create``: ES256 and RS256 (and
    EdDSA), no attestation asked for, the user's other credentials excluded
    (one credential per authenticator)."""
    challenge = challenge or new_challenge()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name or user_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement(rp.user_verification),
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude],
        supported_pub_key_algs=ALGORITHMS,
    )
    return Options(json.loads(options_to_json(options)), challenge)


def assertion_options(
    rp: RelyingParty, allow: Sequence[bytes], challenge: bytes | None = None
) -> Options:
    """Options for ``navigator.credentials.get`` limited to ``allow``."""
    challenge = challenge or new_challenge()
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allow],
        user_verification=UserVerificationRequirement(rp.user_verification),
    )
    return Options(json.loads(options_to_json(options)), challenge)


def _client_data(value: Any) -> bytes:
    raw = from_b64url(value, "clientData")
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed("clientData", "is not client data JSON") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("challenge"), str):
        raise Malformed("clientData", "is not client data JSON")
    return raw


def verify_registration(
    rp: RelyingParty, challenge: bytes, attestation: Any, client_data: Any
) -> Credential:
    """Check an attestation (``navigator.credentials.create``'s answer) against
    the challenge issued for it; the credential to keep, or :class:`Refused`
    (:class:`Malformed` for bytes that are not what they claim)."""
    attestation_object = from_b64url(attestation, "attestation")
    client_data_json = _client_data(client_data)
    # Okta's activate call sends no credential id: py_webauthn reads it from the
    # attested credential data, and only asks that id and rawId agree.
    placeholder = b64url(b"registration")
    credential = {
        "id": placeholder,
        "rawId": placeholder,
        "type": "public-key",
        "response": {
            "clientDataJSON": b64url(client_data_json),
            "attestationObject": b64url(attestation_object),
        },
    }
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_presence=True,
            require_user_verification=rp.requires_verification,
            supported_pub_key_algs=ALGORITHMS,
        )
    except WebAuthnException as exc:
        raise _refusal_or_malformed(exc, "attestation") from exc
    return Credential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=str(verified.aaguid),
        attestation_format=str(getattr(verified.fmt, "value", verified.fmt)),
        user_verified=bool(verified.user_verified),
    )


def verify_assertion(
    rp: RelyingParty,
    challenge: bytes,
    credential: Credential,
    client_data: Any,
    authenticator_data: Any,
    signature: Any,
) -> int:
    """Check an assertion (``navigator.credentials.get``'s answer) by
    ``credential`` against the challenge issued for it; the new signature
    count to keep, or :class:`Refused` (:class:`ClonedAuthenticator` when the
    counter did not grow)."""
    client_data_json = _client_data(client_data)
    auth_data = from_b64url(authenticator_data, "authenticatorData")
    sig = from_b64url(signature, "signatureData")
    credential_id = b64url(credential.credential_id)
    response = {
        "id": credential_id,
        "rawId": credential_id,
        "type": "public-key",
        "response": {
            "clientDataJSON": b64url(client_data_json),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(sig),
        },
    }
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=credential.public_key,
            credential_current_sign_count=credential.sign_count,
            require_user_verification=rp.requires_verification,
        )
    except InvalidAuthenticationResponse as exc:
        if "sign count" in str(exc):
            raise ClonedAuthenticator(
                "The authenticator's signature counter did not increase: "
                "the credential may have been cloned."
            ) from exc
        raise _refusal_or_malformed(exc, "authenticatorData") from exc
    except WebAuthnException as exc:
        raise _refusal_or_malformed(exc, "authenticatorData") from exc
    return int(verified.new_sign_count)


#: py_webauthn's words → what the cause says (the first that matches).
_CAUSES = (
    ("challenge", "The challenge does not match this ceremony's."),
    ("origin", "The origin is not one this server accepts (WEBAUTHN_ORIGINS)."),
    ("rp id hash", "The authenticator answered for another relying party (WEBAUTHN_RP_ID)."),
    ("not present", "The user was not present."),
    ("not verified", "The user was not verified by the authenticator."),
    ("signature", "The signature does not verify with the credential's public key."),
    ("type", "The client data is not of this ceremony's type."),
)
#: Structural failures: the bytes are not what their field names.
_MALFORMED = (
    InvalidCBORData,
    InvalidAuthenticatorDataStructure,
    InvalidAttestationObjectStructure,
    InvalidJSONStructure,
)


def _refusal_or_malformed(exc: Exception, field_name: str) -> Exception:
    text = str(exc).lower()
    if isinstance(exc, _MALFORMED) or "was malformed" in text:
        named = "clientData" if "clientdatajson" in text else field_name
        return Malformed(named, "is not a valid WebAuthn structure")
    for words, cause in _CAUSES:
        if words in text:
            return Refused(cause)
    return Refused("The authenticator's answer was refused: " + str(exc))

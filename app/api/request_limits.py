"""The request body cap: ``REQUEST_BODY_MAX_BYTES``, enforced before anything reads the body.

A body over the cap is answered ``413`` in the API's own error shape (Okta's
``E0000001`` with a cause naming ``requestBody``; WorkOS's shape under
``/auth/``) before the JSON check or a route sees it (the per-client rate
limit still counts it).
Bodies that declare a ``Content-Length`` are refused on the header alone,
without reading a byte. Chunked bodies (no ``Content-Length``) are read by
:class:`ChunkedBodyCap` up to one byte past the cap before Flask sees the
request: werkzeug would otherwise cut such a stream at ``MAX_CONTENT_LENGTH``
silently and hand the truncated prefix to the parser.

Field lengths that are stored (``relayState``) or hashed (passwords) are
capped by the request schemas (``app.api.schemas.max_length_from``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.config import Settings

WSGIApp = Any


class ChunkedBodyCap:
    """WSGI middleware: a chunked body becomes a body of known length, read only
    up to ``limit + 1`` bytes, so that the length check below applies to it too.

    Only when the server has de-chunked the stream (``wsgi.input_terminated``,
    as gunicorn does); without it werkzeug reads no body at all. Chunked
    framing overrides any ``Content-Length`` (RFC 9112, 6.3), so the header the
    app sees is the length read, and ``Transfer-Encoding`` is dropped.
    """

    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and environ.get("wsgi.input_terminated"):
            body = _read_at_most(environ["wsgi.input"], self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.app(environ, start_response)  # type: ignore[no-any-return]


def _read_at_most(stream: Any, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def register(app: Flask, settings: Settings) -> None:
    """Cap every request body at ``settings.request_body_max_bytes``."""
    limit = settings.request_body_max_bytes
    # What werkzeug enforces on any read of the body, should a route get there first.
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.wsgi_app = ChunkedBodyCap(app.wsgi_app, limit)  # type: ignore[method-assign]

    def refuse_large_body() -> None:
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()

    app.before_request(refuse_large_body)

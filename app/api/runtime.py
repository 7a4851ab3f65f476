"""Where the HTTP layer finds the service context of the running app."""

from __future__ import annotations

from flask import current_app

from app.services.context import Context

EXTENSION = "portcullis"


def context() -> Context:
    ctx: Context = current_app.extensions[EXTENSION]
    return ctx

"""Liveness and readiness, as orchestrators expect them, and the Swagger UI
assets, served locally so ``/docs`` works offline.

- ``GET /healthz/live``: the process serves requests. It touches no store,
  so a Redis or PostgreSQL outage never makes an orchestrator restart
  workers that are healthy and will heal on their own (app.api.outages).
- ``GET /healthz``: ready to serve, i.e. the database and Redis answer;
  503 naming what failed. Both stores are pinged on every call; the schema
  version is read when a worker starts (:func:`check_schema`) and then only
  while it was not at head (app.store.migrations.SchemaCheck).
"""

from __future__ import annotations

import logging
from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, send_from_directory
from flask_smorest import Blueprint

from app.api import schemas
from app.api.runtime import EXTENSION, context

log = logging.getLogger("portcullis.schema")
blp = Blueprint("health", __name__, description="Liveness and readiness")


@blp.route("/healthz/live", methods=["GET"])
@blp.response(200, schemas.LivenessSchema)
def liveness() -> dict[str, str]:
    """Liveness: 200 while the process can answer at all (no store is asked)."""
    return {"status": "ok"}


@blp.route("/healthz", methods=["GET"])
@blp.response(200, schemas.HealthSchema)
@blp.alt_response(503, schema=schemas.HealthSchema, description="A dependency failed")
def healthz() -> tuple[dict[str, Any], int]:
    """Readiness: 200 when the database (at the schema's head) and Redis answer."""
    stores = context().stores
    checks: dict[str, str] = {}
    try:
        stores.database.ping()
        problem = stores.schema.problem()
        checks["database"] = "ok" if problem is None else f"failed: {problem}"
    except Exception as exc:  # any driver error means "not answering"
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        stores.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"failed: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return {"status": "ok" if healthy else "unavailable", "checks": checks}, (
        200 if healthy else 503
    )


def check_schema(app: Flask) -> None:
    """Read the schema version as a server starts (gunicorn.conf.py), so that a
    database not at head is logged before any probe asks; never fatal, since
    the database may come later and /healthz reads it again until it is right.
    """
    try:
        app.extensions[EXTENSION].stores.schema.problem()  # logs a schema not at head
    except Exception as exc:  # any driver error: the database does not answer yet
        log.warning(
            "database schema not read at start-up (%s): /healthz reads it", type(exc).__name__
        )


SWAGGER_UI_ASSETS = "/docs/assets/"


@blp.route(SWAGGER_UI_ASSETS + "<path:filename>", methods=["GET"])
@blp.doc(
    summary="A file of the Swagger UI that /docs serves (public)",
    responses={
        "200": {
            "description": "The file (JavaScript, CSS or an image)",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def swagger_ui_asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)

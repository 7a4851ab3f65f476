"""Liveness and readiness, as orchestrators expect them, and the Swagger UI
assets, served locally so ``/docs`` works offline.

- ``GET /healthz/live``: the process serves requests. It touches no store,
  so a Redis or PostgreSQL outage never makes an orchestrator restart
  workers that are healthy and will heal on their own (app.api.outages).
- ``GET /healthz``: ready to serve, i.e. the database and Redis answer;
  503 naming what failed.
"""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from flask import Response, send_from_directory
from flask_smorest import Blueprint

from app.api import schemas
from app.api.runtime import context
from app.store import migrations

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
        current = migrations.current(stores.database)
        checks["database"] = (
            "ok"
            if current == migrations.head()
            else f"failed: schema at {current or 'empty'}, run `flask --app wsgi db upgrade`"
        )
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

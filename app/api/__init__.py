"""HTTP: flask-smorest blueprints, marshmallow schemas, Okta rendering, error mapping."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.api import errors, factors, groups, health, users, workos_mfa
from app.api.schemas import OktaErrorSchema


class PortcullisApi(Api):
    ERROR_SCHEMA = OktaErrorSchema


def register(app: Flask) -> Api:
    api = PortcullisApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Okta-compatible authentication server: Users, Groups "
                "and API tokens (more to come).",
            },
        },
    )
    api.spec.components.security_scheme(
        "SSWS",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`SSWS <token>`: create one with `flask --app wsgi create-token`",
        },
    )
    api.spec.components.security_scheme(
        "WorkOSApiKey",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "`Bearer sk_…`: create one with `flask --app wsgi create-api-key`",
        },
    )
    api.spec.options["security"] = [{"SSWS": []}]
    for blueprint in (
        health.blp,
        users.blp,
        factors.blp,
        factors.qr_blp,
        groups.blp,
        workos_mfa.blp,
    ):
        api.register_blueprint(blueprint)
    errors.register(app)
    return api

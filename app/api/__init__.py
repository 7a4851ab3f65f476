"""HTTP: flask-smorest blueprints, marshmallow schemas, Okta rendering, error mapping."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.api import (
    authn,
    cors,
    dev_outbox,
    errors,
    factors,
    groups,
    health,
    login,
    openapi,
    outages,
    policies,
    rate_limits,
    request_decoding,
    request_limits,
    routing,
    runtime,
    security_headers,
    sessions,
    signin,
    trusted_origins,
    users,
    workos_mfa,
)
from app.api.schemas import OktaErrorSchema
from app.config import Settings
from app.services.context import Context


class PortcullisApi(Api):
    ERROR_SCHEMA = OktaErrorSchema


def register(app: Flask) -> Api:
    ctx: Context = app.extensions[runtime.EXTENSION]
    rate_limits.register(app, ctx.settings, ctx.stores)  # before any other request hook
    request_limits.register(app, ctx.settings)  # before anything reads a body
    request_decoding.register(app, ctx.settings)  # NUL, surrogates, depth: before any route
    security_headers.register(app, ctx.settings)
    api = PortcullisApi(
        app,
        spec_kwargs={
            "extra_plugins": [openapi.ContractPlugin()],  # statuses and security as sent
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
    routing.register(app, api)  # before the blueprints that route by resource_id
    for blueprint in (
        health.blp,
        authn.blp,
        sessions.blp,
        sessions.me_blp,
        sessions.user_sessions_blp,
        trusted_origins.blp,
        policies.blp,
        users.blp,
        factors.blp,
        factors.qr_blp,
        groups.blp,
        workos_mfa.blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(login.blp)  # a redirect and HTML pages: described by hand
    (rule,) = app.url_map.iter_rules("login.session_cookie_redirect")
    api.spec.path(rule=rule, operations=login.OPENAPI_PATH)
    app.register_blueprint(signin.blp)
    cors.register(app)
    if context_settings(app).dev_outbox_enabled:
        api.register_blueprint(dev_outbox.blp)
    errors.register(app)
    outages.register(app, ctx)  # after errors: the more specific handlers
    return api


def context_settings(app: Flask) -> Settings:
    ctx: Context = app.extensions[runtime.EXTENSION]
    return ctx.settings

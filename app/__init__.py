"""Portcullis: a self-hosted, Okta-compatible authentication server."""

from __future__ import annotations

from flask import Flask

from app.config import Settings
from app.delivery import ChannelRouter, Delivery, Outbox, SmtpEmail
from app.domain.clock import Clock, utc_now
from app.domain.passwords import Hasher
from app.domain.secret_box import SecretBox
from app.services.context import Context
from app.store import Stores
from app.store.db import Database
from app.store.redis_client import connect

__version__ = "0.1.0"
OUTBOX_FILE = "outbox.log"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    delivery: Delivery | None = None,
) -> Flask:
    """Build the WSGI app. ``settings`` default to :meth:`Settings.from_env`."""
    from app import api, cli

    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_TITLE="Portcullis",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=api.health.SWAGGER_UI_ASSETS,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    redis_client = connect(settings.redis_url, settings.redis_timeout)
    stores = Stores(
        Database(
            settings.database_url,
            connect_timeout=settings.database_connect_timeout,
            statement_timeout=settings.database_statement_timeout,
            prepared_statements=settings.database_prepared_statements,
        ),
        redis_client,
        SecretBox(settings.encryption_key),
        challenge_retention=settings.workos_challenge_retention,
        token_cache_seconds=settings.api_token_cache_seconds,
    )
    if delivery is None:
        outbox = Outbox(redis_client, settings.instance_path / OUTBOX_FILE, clock=clock)
        outbox.prune_log()  # codes that expired while the server was down
        delivery = build_delivery(settings, outbox)
    app.extensions[api.runtime.EXTENSION] = Context(
        settings=settings,
        stores=stores,
        clock=clock,
        hasher=Hasher(
            settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
        ),
        delivery=delivery,
    )
    api.register(app)
    cli.register(app)
    return app


def build_delivery(settings: Settings, outbox: Outbox) -> Delivery:
    """SMTP for e-mail and Twilio for SMS and calls when configured; the outbox otherwise."""
    routes: dict[str, Delivery] = {}
    if settings.smtp_host:
        routes["email"] = SmtpEmail(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.delivery_timeout,
        )
    if settings.twilio_configured:
        from app.delivery.twilio import TwilioMessages

        twilio = TwilioMessages(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            api_base_url=settings.twilio_api_base_url,
            timeout=settings.delivery_timeout,
        )
        routes["sms"] = routes["call"] = twilio
    return ChannelRouter(routes, outbox)

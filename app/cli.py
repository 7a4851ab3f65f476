"""``flask --app wsgi …`` commands: migrations, API tokens, users, demo data."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.api.runtime import EXTENSION
from app.domain import lengths
from app.domain.errors import ApiError
from app.services import api_tokens, groups, lifecycle, users, workos_mfa
from app.services.context import Context
from app.store import migrations


def _explain(error: ApiError) -> str:
    """An API error as one line: the causes when there are any, else the summary."""
    return "; ".join(error.causes) or error.summary


def _ctx() -> Context:
    ctx: Context = current_app.extensions[EXTENSION]
    return ctx


db_cli = AppGroup("db", help="Database schema migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrations.upgrade(_ctx().stores.database, revision)
    click.echo(f"database at {migrations.current(_ctx().stores.database)}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrations.downgrade(_ctx().stores.database, revision)
    click.echo(f"database at {migrations.current(_ctx().stores.database) or 'base (empty)'}")


@db_cli.command("current")
def db_current() -> None:
    click.echo(migrations.current(_ctx().stores.database) or "empty")


@db_cli.command("check")
def db_check() -> None:
    """Exit 1 unless the schema is at the newest revision (deploy scripts, probes)."""
    database = _ctx().stores.database
    try:
        problem = migrations.behind_head(database)
    except Exception as exc:  # any driver error: the database does not answer
        click.echo(f"database does not answer ({type(exc).__name__})", err=True)
        sys.exit(1)
    if problem is not None:
        click.echo(f"database {problem}", err=True)
        sys.exit(1)
    click.echo(f"database at {migrations.current(database)} (head)")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    migrations.revision(_ctx().stores.database, message)


@click.command("migrate")
def migrate() -> None:
    """Same as ``db upgrade``: bring the schema to the newest revision."""
    migrations.upgrade(_ctx().stores.database)
    click.echo(f"database at {migrations.current(_ctx().stores.database)}")


def _is_terminal() -> bool:
    return sys.stdout.isatty()


@click.command("bootstrap")
def bootstrap() -> None:
    """First start only: create an admin API token and save it to instance/admin-token.

    The token is printed only when stdout is a terminal: under a process
    manager or CI, stdout goes to a log, and a log must not hold a credential.
    Otherwise only the file's path is printed.
    """
    token = api_tokens.bootstrap_admin_token(_ctx())
    if token is None:
        return
    path = _ctx().settings.instance_path / api_tokens.ADMIN_TOKEN_FILE
    click.echo("")
    if _is_terminal():
        click.echo("  First start: an admin API token was created. It is shown only this once")
        click.echo(f"  (also saved, mode 0600, to {path}):")
        click.echo("")
        click.echo(f"    Authorization: SSWS {token}")
    else:
        click.echo("  First start: an admin API token was created and saved, mode 0600, to")
        click.echo(f"  {path} (it is not printed: this output is not a terminal).")
    click.echo("")


def _credential_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A token's or key's name fits its column (PostgreSQL refuses a longer one)."""
    if len(value) > lengths.CREDENTIAL_NAME:
        raise click.BadParameter(f"at most {lengths.CREDENTIAL_NAME} characters")
    return value


@click.command("create-token")
@click.option("--name", default="api token", show_default=True, callback=_credential_name)
def create_token(name: str) -> None:
    """Create an SSWS API token; the token alone is printed on the last line."""
    token, value = api_tokens.create_token(_ctx(), name)
    click.echo(f"created {token.id} ({token.name})", err=True)
    click.echo(value)


@click.command("list-tokens")
def list_tokens() -> None:
    """List API tokens (id, name, created, last used, revoked); never the token itself."""
    for t in api_tokens.list_tokens(_ctx()):
        state = f"revoked {t.revoked:%Y-%m-%d %H:%M}" if t.revoked else "active"
        used = f"{t.last_used:%Y-%m-%d %H:%M}" if t.last_used else "never"
        click.echo(
            f"{t.id}  …{t.token_window}  {t.created:%Y-%m-%d %H:%M}  used {used}  {state}  {t.name}"
        )


@click.command("revoke-token")
@click.argument("token_id")
def revoke_token(token_id: str) -> None:
    """Revoke the API token with id TOKEN_ID (see list-tokens)."""
    if not api_tokens.revoke_token(_ctx(), token_id):
        raise click.ClickException(f"no active token {token_id}")
    click.echo(f"revoked {token_id}")


@click.command("create-api-key")
@click.option("--name", default="api key", show_default=True, callback=_credential_name)
def create_api_key(name: str) -> None:
    """Create a WorkOS-style MFA API key (sk_…); the key alone is on the last line."""
    key, value = workos_mfa.create_api_key(_ctx(), name)
    click.echo(f"created {key.id} ({key.name})", err=True)
    click.echo(value)


@click.command("list-api-keys")
def list_api_keys() -> None:
    """List MFA API keys (id, name, created, revoked); never the key itself."""
    for k in workos_mfa.list_api_keys(_ctx()):
        state = f"revoked {k.revoked:%Y-%m-%d %H:%M}" if k.revoked else "active"
        click.echo(f"{k.id}  …{k.token_window}  {k.created:%Y-%m-%d %H:%M}  {state}  {k.name}")


@click.command("revoke-api-key")
@click.argument("key_id")
def revoke_api_key(key_id: str) -> None:
    """Revoke the MFA API key with id KEY_ID (see list-api-keys)."""
    if not workos_mfa.revoke_api_key(_ctx(), key_id):
        raise click.ClickException(f"no active API key {key_id}")
    click.echo(f"revoked {key_id}")


@click.command("create-user")
@click.option("--login", required=True)
@click.option("--password", default=None, help="Omit to create a user without a password")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--email", default=None, help="Defaults to the login")
@click.option("--activate/--no-activate", default=True, show_default=True)
def create_user(
    login: str,
    password: str | None,
    first_name: str,
    last_name: str,
    email: str | None,
    activate: bool,
) -> None:
    """Create a user, as POST /api/v1/users does."""
    profile = {
        "login": login,
        "email": email or login,
        "firstName": first_name or login.split("@")[0],
        "lastName": last_name or "User",
    }
    creds = {"password": {"value": password}} if password else None
    try:
        user, _ = users.create_user(_ctx(), profile, creds, [], activate=activate, next_login=None)
    except ApiError as exc:
        raise click.ClickException(_explain(exc)) from exc
    click.echo(f"{user.id} {user.login} {user.status.value}")


DEMO_GROUP = "Demo"
DEMO_USERS = (
    ("jeff.beck@example.com", "Jeff", "Beck", "Guitar-Hero-1944"),
    ("ada.lovelace@example.com", "Ada", "Lovelace", "Analytical-Engine-1843"),
    ("alan.turing@example.com", "Alan", "Turing", "Enigma-Breaker-1912"),
)


@click.command("seed-demo")
def seed_demo() -> None:
    """A demo group and users with known passwords (printed), to try every flow."""
    ctx = _ctx()
    with ctx.stores.unit_of_work() as uow:
        candidates = uow.groups.query(q=DEMO_GROUP, limit=10)
    group = next((g for g in candidates if g.name == DEMO_GROUP), None)
    if group is None:
        group = groups.create_group(ctx, {"name": DEMO_GROUP, "description": "Demo users"})
    click.echo(f"group {group.id} {DEMO_GROUP}")
    for login, first, last, password in DEMO_USERS:
        with ctx.stores.unit_of_work() as uow:
            existing = uow.users.by_login(login)
        if existing is None:
            profile = {"login": login, "email": login, "firstName": first, "lastName": last}
            user, _ = users.create_user(
                ctx,
                profile,
                {"password": {"value": password}},
                [group.id],
                activate=True,
                next_login=None,
            )
        else:  # make a re-run true to what it prints: the known password, in Demo, active
            user = lifecycle.reset_demo_user(ctx, existing.id, password)
            groups.add_member(ctx, group.id, user.id)
        click.echo(f"user  {user.id} {login} password: {password}")


@click.command("outbox")
@click.option("-n", "--limit", default=5, show_default=True, help="How many messages")
def outbox(limit: int) -> None:
    """Print the newest messages of the local outbox (codes, activation and reset links)."""
    from app import OUTBOX_FILE
    from app.delivery import Outbox

    ctx = _ctx()
    found = Outbox.read_log(ctx.settings.instance_path / OUTBOX_FILE, limit, ctx.clock())
    if not found:
        click.echo(
            "the outbox is empty (messages are kept until their code or link expires; "
            "they go to Twilio/SMTP when those are configured)"
        )
    for message in found:
        click.echo(f"--- {message.channel} to {message.to}: {message.subject}")
        click.echo(message.body)


def register(app: Flask) -> None:
    app.cli.add_command(db_cli)
    for command in (
        migrate,
        bootstrap,
        create_token,
        list_tokens,
        revoke_token,
        create_user,
        seed_demo,
        outbox,
        create_api_key,
        list_api_keys,
        revoke_api_key,
    ):
        app.cli.add_command(command)

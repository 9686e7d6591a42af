"""``jointwatch admin ...`` and ``jointwatch audit ...``: run on the node's host, next to its
database, by whoever administers the node.

Why a command line and not only the web console: the first admin user, the first partner
link and a break-glass token must be creatable before anyone can log in, and audit
verification must work with the node stopped (or compromised). Secrets (tokens) go alone on
stdout so a script can capture them; everything meant for a human goes to stderr. Every
change is itself audited, with the actor ``admin-cli``.

The user and token commands are here; the partner and group commands are in
``jointwatch.cli_sharing_admin``, ``jointwatch audit`` in ``jointwatch.cli_audit``, and what
they all share in ``jointwatch.cli_admin_common``. ``admin_app`` and ``audit_app`` are both
taken from here by ``jointwatch.cli``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from jointwatch.cli_admin_common import (
    DatabaseUrl,
    DataDir,
    audit_change,
    fail,
    note,
    open_service,
    print_table,
    yes_no,
)
from jointwatch.cli_audit import audit_app
from jointwatch.cli_sharing_admin import group_app, partner_app
from jointwatch.config import Settings

__all__ = ["admin_app", "audit_app"]

admin_app = typer.Typer(
    help="Users, credentials, partner nodes and sharing groups (run on the node's host).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Console and API users.", no_args_is_help=True)
token_app = typer.Typer(help="API keys (bearer tokens).", no_args_is_help=True)
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(token_app, name="token")
admin_app.add_typer(partner_app, name="partner")
admin_app.add_typer(group_app, name="group")


# ---- passwords and sign-in links ---------------------------------------------------------


def _read_password() -> str:
    """One line from stdin (scripts), or a hidden, confirmed prompt on a terminal; never an
    argument, which would land in shell history and ``ps``."""
    if sys.stdin.isatty():
        password: str = typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise fail("no password on stdin")
    return password


def _base_url(settings: Settings, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/")
    scheme = "https" if settings.tls_certfile else "http"
    return f"{scheme}://{settings.host}:{settings.port}"


def _enrol_link(service: Any, username: str, base_url: str | None, minutes: int) -> None:
    secret = service.accounts.create_enrolment(username, timedelta(minutes=minutes))
    audit_change(service, "user", username, op="enrol", minutes=minutes)
    typer.echo(f"{_base_url(service.settings, base_url)}/auth/enrol?token={secret}")
    note(f"single-use sign-in link for {username}, valid {minutes} min; send it privately")


BaseUrl = Annotated[
    str | None,
    typer.Option(help="Node address users reach, for the link [default: http://HOST:PORT]"),
]
EnrolMinutes = Annotated[int, typer.Option(min=1, help="Link lifetime in minutes")]


# ---- users -------------------------------------------------------------------------------


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="admin, watch_officer, analyst, liaison, ...")],
    nation: Annotated[str, typer.Option(help="User's nation, ISO 3166 alpha-3")],
    clearance: Annotated[
        str | None, typer.Option(help="Highest level they may see [default: top level]")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
    base_url: BaseUrl = None,
    enrol_minutes: EnrolMinutes = 15,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user: with a password from stdin, or else print a single-use sign-in link."""
    password = _read_password() if password_stdin else None
    with open_service(data_dir, database_url) as service:
        user = service.accounts.create_user(
            username, nation=nation, role=role, clearance=clearance, password=password
        )
        audit_change(
            service,
            "user",
            user.username,
            op="add",
            role=user.role,
            nation=user.nation,
            clearance=user.clearance,
            password=password is not None,
        )
        note(f"user {user.username} ({user.role}, {user.nation}, {user.clearance}) created")
        if password is None:
            _enrol_link(service, user.username, base_url, enrol_minutes)


@user_app.command("list")
def user_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every user, without secrets."""
    with open_service(data_dir, database_url) as service:
        users = service.accounts.users()
    print_table(
        "users",
        ("username", "nation", "role", "clearance", "disabled", "has_password"),
        (
            (
                u["username"],
                u["nation"],
                u["role"],
                u["clearance"],
                yes_no(u["disabled"]),
                yes_no(u["has_password"]),
            )
            for u in users
        ),
    )


def _set_disabled(username: str, disabled: bool, data_dir: Path | None, url: str | None) -> None:
    with open_service(data_dir, url) as service:
        service.accounts.set_disabled(username, disabled)
        audit_change(service, "user", username, op="disable" if disabled else "enable")
    note(f"user {username} {'disabled' if disabled else 'enabled'}")


@user_app.command("disable")
def user_disable(username: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Lock a user out at once: their sessions end and their keys stop working."""
    _set_disabled(username, True, data_dir, database_url)


@user_app.command("enable")
def user_enable(username: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Let a disabled user back in (their unrevoked keys work again)."""
    _set_disabled(username, False, data_dir, database_url)


@user_app.command("password")
def user_password(
    username: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Set a user's password, read from stdin so it never appears in a process list."""
    password = _read_password()
    with open_service(data_dir, database_url) as service:
        service.accounts.set_password(username, password)
        audit_change(service, "user", username, op="password")
    note(f"password of {username} changed")


@user_app.command("enrol")
def user_enrol(
    username: str,
    base_url: BaseUrl = None,
    enrol_minutes: EnrolMinutes = 15,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a fresh single-use sign-in link (a lost password, or a link that expired)."""
    with open_service(data_dir, database_url) as service:
        _enrol_link(service, username, base_url, enrol_minutes)


# ---- tokens ------------------------------------------------------------------------------


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the key is for")] = "api",
    read_only: Annotated[bool, typer.Option("--read-only", help="Only :read permissions")] = False,
    allow_ip: Annotated[
        list[str] | None,
        typer.Option("--allow-ip", help="Client address or CIDR allowed (repeatable)"),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option(min=1, help="Expire after this many days")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key; the token alone goes to stdout so ``$(...)`` captures it."""
    with open_service(data_dir, database_url) as service:
        key_id, token = service.accounts.create_key(
            username,
            name=name,
            read_only=read_only,
            allowed_ips=list(allow_ip or []),
            expires_in=timedelta(days=expires_days) if expires_days else None,
        )
        audit_change(
            service,
            "api_key",
            key_id,
            op="create",
            user=username,
            name=name,
            read_only=read_only,
            allowed_ips=list(allow_ip or []),
            expires_days=expires_days,
        )
    typer.echo(token)
    note(f"key {key_id} for {username}: the token is shown once; only its hash is kept")


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's keys")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """API keys and their limits (never the secret)."""
    with open_service(data_dir, database_url) as service:
        keys = service.accounts.keys(user)
    print_table(
        "API keys",
        ("id", "user", "name", "read_only", "allowed_ips", "expires", "last_used", "revoked"),
        (
            (
                k["id"],
                k["username"],
                k["name"],
                yes_no(k["read_only"]),
                ", ".join(k["allowed_ips"]) or "any",
                k["expires_at"] or "never",
                k["last_used_at"] or "never",
                yes_no(k["revoked"]),
            )
            for k in keys
        ),
    )


@token_app.command("revoke")
def token_revoke(key_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Stop a key working at once."""
    with open_service(data_dir, database_url) as service:
        service.accounts.revoke_key(key_id)
        audit_change(service, "api_key", key_id, op="revoke")
    note(f"key {key_id} revoked")

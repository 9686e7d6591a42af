"""``jointwatch admin ...`` and ``jointwatch audit ...``: run on the node's host, next to its
database, by whoever administers the node.

Why a command line and not only the web console: the first admin user, the first partner
link and a break-glass token must be creatable before anyone can log in, and audit
verification must work with the node stopped (or compromised). Secrets (tokens) go alone on
stdout so a script can capture them; everything meant for a human goes to stderr. Every
change is itself audited, with the actor ``admin-cli``.

This module does not import ``jointwatch.cli`` (which registers it), so its few helpers are
repeated here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from jointwatch.config import Settings
from jointwatch.errors import JointWatchError
from jointwatch.store.accounts import AccountError

__all__ = ["admin_app", "audit_app"]

admin_app = typer.Typer(
    help="Users, credentials, partner nodes and sharing groups (run on the node's host).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(
    help="Verify and read the node's hash-chained audit log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Console and API users.", no_args_is_help=True)
token_app = typer.Typer(help="API keys (bearer tokens).", no_args_is_help=True)
partner_app = typer.Typer(help="Partner nodes records are exchanged with.", no_args_is_help=True)
group_app = typer.Typer(help="Sharing groups usable in REL TO markings.", no_args_is_help=True)
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(token_app, name="token")
admin_app.add_typer(partner_app, name="partner")
admin_app.add_typer(group_app, name="group")

ACTOR = "admin-cli"
HEAD_FILE = "audit-head.json"
PUBLIC_KEY_FILE = "node-ed25519.pub"

DataDir = Annotated[
    Path | None, typer.Option(help="Node data directory [default: $JOINTWATCH_DATA_DIR]")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="SQLAlchemy URL [default: $JOINTWATCH_DATABASE_URL]")
]


# ---- helpers -----------------------------------------------------------------------------


def _err() -> Console:
    # Built per call, not at import, so it writes to whatever stderr is current (tests).
    return Console(stderr=True, soft_wrap=True)


def _out() -> Console:
    # Piped output (grep, a ticket) gets room for whole key ids and timestamps.
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=200)
    return console


def _fail(exc: Exception | str) -> typer.Exit:
    """One red line and exit 2, as ``jointwatch.cli`` does for bad input."""
    _err().print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(code=2)


def _note(text: str) -> None:
    _err().print(text, highlight=False)


def _settings(data_dir: Path | None, database_url: str | None) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    return Settings(**{k: v for k, v in values.items() if v is not None})


@contextmanager
def _service(data_dir: Path | None, database_url: str | None) -> Iterator[Any]:
    """The node's sharing service on its database (migrated, so a fresh node works too);
    any ``JointWatchError`` inside becomes one red line and exit 2."""
    from jointwatch.sharing.service import SharingService
    from jointwatch.store import make_engine, migrate

    try:
        settings = _settings(data_dir, database_url)
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.effective_database_url)
    except JointWatchError as exc:
        raise _fail(exc) from exc
    try:
        migrate(engine)
        service = SharingService(settings, engine)
    except (JointWatchError, OperationalError) as exc:
        engine.dispose()
        raise _fail(f"cannot open the node's database: {exc}") from exc
    try:
        yield service
    except JointWatchError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()


def _audit(service: Any, object_type: str, object_id: str, **detail: Any) -> None:
    """An admin change, attributed to ``admin-cli`` (never with a secret in ``detail``)."""
    from jointwatch.store.accounts import Principal

    actor = Principal(0, ACTOR, service.nation, "admin", service.levels[-1])
    service.audit_event(actor, "admin", object_type, object_id, **detail)


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
        raise _fail("no password on stdin")
    return password


def _base_url(settings: Settings, base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/")
    scheme = "https" if settings.tls_certfile else "http"
    return f"{scheme}://{settings.host}:{settings.port}"


def _enrol_link(service: Any, username: str, base_url: str | None, minutes: int) -> None:
    secret = service.accounts.create_enrolment(username, timedelta(minutes=minutes))
    _audit(service, "user", username, op="enrol", minutes=minutes)
    typer.echo(f"{_base_url(service.settings, base_url)}/auth/enrol?token={secret}")
    _note(f"single-use sign-in link for {username}, valid {minutes} min; send it privately")


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")  # never cut an id someone must type
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    _out().print(table)


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
    with _service(data_dir, database_url) as service:
        user = service.accounts.create_user(
            username, nation=nation, role=role, clearance=clearance, password=password
        )
        _audit(
            service,
            "user",
            user.username,
            op="add",
            role=user.role,
            nation=user.nation,
            clearance=user.clearance,
            password=password is not None,
        )
        _note(f"user {user.username} ({user.role}, {user.nation}, {user.clearance}) created")
        if password is None:
            _enrol_link(service, user.username, base_url, enrol_minutes)


@user_app.command("list")
def user_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every user, without secrets."""
    with _service(data_dir, database_url) as service:
        users = service.accounts.users()
    _table(
        "users",
        ("username", "nation", "role", "clearance", "disabled", "has_password"),
        (
            (
                u["username"],
                u["nation"],
                u["role"],
                u["clearance"],
                _yes_no(u["disabled"]),
                _yes_no(u["has_password"]),
            )
            for u in users
        ),
    )


def _set_disabled(username: str, disabled: bool, data_dir: Path | None, url: str | None) -> None:
    with _service(data_dir, url) as service:
        service.accounts.set_disabled(username, disabled)
        _audit(service, "user", username, op="disable" if disabled else "enable")
    _note(f"user {username} {'disabled' if disabled else 'enabled'}")


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
    with _service(data_dir, database_url) as service:
        service.accounts.set_password(username, password)
        _audit(service, "user", username, op="password")
    _note(f"password of {username} changed")


@user_app.command("enrol")
def user_enrol(
    username: str,
    base_url: BaseUrl = None,
    enrol_minutes: EnrolMinutes = 15,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a fresh single-use sign-in link (a lost password, or a link that expired)."""
    with _service(data_dir, database_url) as service:
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
    with _service(data_dir, database_url) as service:
        key_id, token = service.accounts.create_key(
            username,
            name=name,
            read_only=read_only,
            allowed_ips=list(allow_ip or []),
            expires_in=timedelta(days=expires_days) if expires_days else None,
        )
        _audit(
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
    _note(f"key {key_id} for {username}: the token is shown once; only its hash is kept")


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's keys")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """API keys and their limits (never the secret)."""
    with _service(data_dir, database_url) as service:
        keys = service.accounts.keys(user)
    _table(
        "API keys",
        ("id", "user", "name", "read_only", "allowed_ips", "expires", "last_used", "revoked"),
        (
            (
                k["id"],
                k["username"],
                k["name"],
                _yes_no(k["read_only"]),
                ", ".join(k["allowed_ips"]) or "any",
                k["expires_at"] or "never",
                k["last_used_at"] or "never",
                _yes_no(k["revoked"]),
            )
            for k in keys
        ),
    )


@token_app.command("revoke")
def token_revoke(key_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Stop a key working at once."""
    with _service(data_dir, database_url) as service:
        service.accounts.revoke_key(key_id)
        _audit(service, "api_key", key_id, op="revoke")
    _note(f"key {key_id} revoked")


# ---- partners ----------------------------------------------------------------------------


@partner_app.command("add")
def partner_add(
    name: Annotated[str, typer.Argument(help="Partner node name, e.g. jw-vnm")],
    nation: Annotated[str, typer.Option(help="Partner's nation, ISO 3166 alpha-3")],
    ceiling: Annotated[str, typer.Option(help="Highest level ever released to it")],
    url: Annotated[str | None, typer.Option(help="Partner node's base URL, to push to")] = None,
    token: Annotated[str | None, typer.Option(help="Token the partner gave us (outbound)")] = None,
    ca_file: Annotated[
        Path | None, typer.Option(help="PEM CA bundle for the partner's HTTPS")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Link a partner node; prints the INBOUND token, alone, to hand to its administrator."""
    if ca_file is not None and not ca_file.is_file():
        raise _fail(f"no such CA file: {ca_file}")
    with _service(data_dir, database_url) as service:
        # add_partner audits the link itself (nation and ceiling, no token).
        inbound = service.add_partner(
            name, nation=nation, url=url, ceiling=ceiling, outbound_token=token, ca_file=ca_file
        )
    typer.echo(inbound)
    _note(
        f"partner {name} linked. The token above is what {name} uses to reach this node; "
        "give it to its administrator over a secure channel (shown once)."
    )
    if token is None:
        _note(f"no outbound token yet: set it with `jointwatch admin partner set-token {name} ...`")


@partner_app.command("set-token")
def partner_set_token(
    name: str,
    token: Annotated[str, typer.Argument(help="Token the partner issued to this node")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the credential this node presents when pushing to and pulling from the partner."""
    with _service(data_dir, database_url) as service:
        service.records.update_partner(name, outbound_token=token, last_error=None)
        _audit(service, "partner", name, op="set-token")
    _note(f"outbound token of {name} set")


@partner_app.command("set-url")
def partner_set_url(
    name: str, url: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Point at the partner's new address."""
    if not url.startswith(("http://", "https://")):
        raise _fail("a partner URL starts with http:// or https://")
    with _service(data_dir, database_url) as service:
        service.records.update_partner(name, url=url.rstrip("/"), last_error=None)
        _audit(service, "partner", name, op="set-url", url=url.rstrip("/"))
    _note(f"url of {name} set to {url.rstrip('/')}")


@partner_app.command("list")
def partner_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Partners with their sync health: cursors, backlog, last error, receipts."""
    with _service(data_dir, database_url) as service:
        partners = service.partners_health()
    _table(
        "partners",
        (
            "name",
            "nation",
            "url",
            "ceiling",
            "enabled",
            "push/pull cursor",
            "pending",
            "last error",
            "receipts",
        ),
        (
            (
                p["name"],
                p["nation"],
                p["url"] or "-",
                p["ceiling"],
                _yes_no(p["enabled"]),
                f"{p['push_cursor']}/{p['pull_cursor']}",
                p["pending"],
                p["last_error"] or "-",
                " ".join(f"{k}={v}" for k, v in sorted(p["receipts"].items())) or "-",
            )
            for p in partners
        ),
    )


@partner_app.command("remove")
def partner_remove(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Forget a partner; its inbound identity is disabled so its token stops working."""
    with _service(data_dir, database_url) as service:
        service.records.delete_partner(name)
        with suppress(AccountError):  # no inbound identity left to disable
            service.accounts.set_disabled(f"partner.{name}", True)
        _audit(service, "partner", name, op="remove")
    _note(f"partner {name} removed")


def _set_partner_enabled(name: str, enabled: bool, data_dir: Path | None, url: str | None) -> None:
    with _service(data_dir, url) as service:
        service.records.update_partner(name, enabled=enabled)
        _audit(service, "partner", name, op="enable" if enabled else "disable")
    _note(f"partner {name} {'enabled' if enabled else 'disabled'}")


@partner_app.command("disable")
def partner_disable(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Stop exchanging with a partner (both ways) without forgetting its cursors."""
    _set_partner_enabled(name, False, data_dir, database_url)


@partner_app.command("enable")
def partner_enable(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Resume exchange with a partner where its cursors left off."""
    _set_partner_enabled(name, True, data_dir, database_url)


# ---- sharing groups ----------------------------------------------------------------------

_GROUPS_NOTE = "a running node picks up sharing-group changes within 5 s"


@group_app.command("set")
def group_set(
    name: Annotated[str, typer.Argument(help="Group name, e.g. ASEAN-MARSEC")],
    nations: Annotated[str, typer.Option(help="Member nations, comma separated: VNM,PHL,IDN")],
    description: Annotated[str, typer.Option(help="What the group is")] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create or replace a sharing group (records marked REL TO it reach its members)."""
    from jointwatch.sharing.markings import is_group_name, is_nation

    group = name.strip().upper()
    if not is_group_name(group):
        raise _fail(
            f"group name {name!r} must be 2-40 capitals, digits, '-' or '_', "
            "and not three letters (those are nations)"
        )
    members = sorted({n.strip().upper() for n in nations.split(",") if n.strip()})
    if not members:
        raise _fail("a group needs at least one nation (--nations VNM,PHL)")
    bad = [n for n in members if not is_nation(n)]
    if bad:
        raise _fail(f"not ISO 3166 alpha-3 nation codes: {', '.join(bad)}")
    with _service(data_dir, database_url) as service:
        service.records.put_group(group, members, description)
        service.reload_groups()
        _audit(service, "group", group, op="set", nations=members)
    _note(f"group {group}: {', '.join(members)}; {_GROUPS_NOTE}")


@group_app.command("list")
def group_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Sharing groups and their members."""
    with _service(data_dir, database_url) as service:
        groups = service.records.groups()
    _table(
        "sharing groups",
        ("name", "nations", "description"),
        ((n, ",".join(g["nations"]), g["description"]) for n, g in groups.items()),
    )


@group_app.command("remove")
def group_remove(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Remove a group; records REL TO it then reach nobody through it."""
    group = name.strip().upper()
    with _service(data_dir, database_url) as service:
        service.records.delete_group(group)
        service.reload_groups()
        _audit(service, "group", group, op="remove")
    _note(f"group {group} removed; {_GROUPS_NOTE}")


# ---- audit -------------------------------------------------------------------------------


def _load_head(path: Path) -> dict[str, Any]:
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read signed head {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise _fail(f"signed head {path} is not JSON: {exc}") from exc
    if not isinstance(head, dict) or not {"node", "seq", "hash", "signature"} <= head.keys():
        raise _fail(f"signed head {path} needs node, seq, hash and signature")
    return head


def _load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise _fail(
            f"cannot read the node's public key {path}: {exc.strerror or exc}; "
            "without it the signed head cannot be checked"
        ) from exc
    except ValueError as exc:
        raise _fail(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise _fail(f"{path} is not an Ed25519 public key")
    return key


def _walk(
    entries: Iterable[Mapping[str, Any]], want_seq: int | None, seen: dict[str, Any]
) -> Iterator[Mapping[str, Any]]:
    """Pass entries through to ``verify_chain`` while noting the count, the last entry and
    the hash at the signed head's seq: one pass, so a long log is never held in memory."""
    for entry in entries:
        seen["count"] += 1
        seen["last"] = (int(entry["seq"]), str(entry["hash"]))
        if want_seq is not None and int(entry["seq"]) == want_seq:
            seen["at_head"][want_seq] = str(entry["hash"])
        yield entry


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        Path | None,
        typer.Option(
            help="A signed head to check against (e.g. one a partner kept) "
            f"[default: DATA_DIR/{HEAD_FILE} if present]"
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(help=f"The node's Ed25519 public key [default: DATA_DIR/{PUBLIC_KEY_FILE}]"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check the whole chain (edits, deletions) and a signed head (truncation): exit 0 when
    intact, 1 with each problem otherwise."""
    from jointwatch.sharing.audit import GENESIS, check_head, verify_chain

    with _service(data_dir, database_url) as service:
        node_dir = service.settings.data_dir
        head_path = head if head is not None else node_dir / HEAD_FILE
        signed = _load_head(head_path) if head is not None or head_path.is_file() else None
        key = _load_public_key(public_key or node_dir / PUBLIC_KEY_FILE) if signed else None
        want = None
        if signed is not None:
            try:
                want = int(signed["seq"])
            except (TypeError, ValueError) as exc:
                raise _fail(f"signed head {head_path} has no integer seq") from exc
        seen: dict[str, Any] = {"count": 0, "last": (0, GENESIS), "at_head": {}}
        problems = [
            (p.seq, p.problem)
            for p in verify_chain(_walk(service.audit.iter_entries(), want, seen))
        ]
        node_name = service.node_name
    head_problem = ""
    if signed is not None:
        head_problem = check_head(key, signed, seen["at_head"])
        if str(signed["node"]) != node_name:
            _note(
                f"[yellow]note:[/] the signed head names node {signed['node']!r}, "
                f"this node is {node_name!r}"
            )
    out = _out()
    count, (last_seq, last_hash) = seen["count"], seen["last"]
    if not problems and not head_problem:
        out.print(
            f"audit log intact: {count} entries, head {last_seq} {last_hash[:16]}",
            highlight=False,
        )
        if signed is not None:
            out.print(
                f"signed head {signed['seq']} from {head_path} verified: no truncation",
                highlight=False,
            )
        return
    for seq, problem in problems:
        out.print(f"[red]{seq}: {problem}[/]", highlight=False)
    if head_problem:
        out.print(f"[red]signed head ({head_path}): {head_problem}[/]", highlight=False)
    total = len(problems) + bool(head_problem)
    out.print(
        f"[bold red]audit log NOT intact:[/] {total} problem(s) in {count} entries",
        highlight=False,
    )
    raise typer.Exit(code=1)


@audit_app.command("show")
def audit_show(
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest entries")] = 50,
    object_id: Annotated[
        str | None, typer.Option("--object", help="Only entries about this record id (GID)")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The newest audit entries, oldest of them first."""
    with _service(data_dir, database_url) as service:
        entries = service.audit.recent(limit=limit, object_id=object_id)
    _table(
        "audit log",
        ("seq", "at", "actor", "action", "object", "marking_after"),
        (
            (
                e["seq"],
                e["at"],
                e["actor"],
                e["action"],
                f"{e['object_type']}:{e['object_id']}",
                e["marking_after"] or "",
            )
            for e in reversed(entries)
        ),
    )

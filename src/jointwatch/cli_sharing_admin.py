"""``jointwatch admin partner ...`` and ``jointwatch admin group ...``: the partner nodes
this node exchanges records with, and the sharing groups REL TO markings may name.

Registered on ``admin_app`` by ``jointwatch.cli_admin``; the helpers are
``jointwatch.cli_admin_common``'s.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Annotated

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
from jointwatch.store.accounts import AccountError

__all__ = ["group_app", "partner_app"]

partner_app = typer.Typer(help="Partner nodes records are exchanged with.", no_args_is_help=True)
group_app = typer.Typer(help="Sharing groups usable in REL TO markings.", no_args_is_help=True)


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
        raise fail(f"no such CA file: {ca_file}")
    with open_service(data_dir, database_url) as service:
        # add_partner audits the link itself (nation and ceiling, no token).
        inbound = service.add_partner(
            name, nation=nation, url=url, ceiling=ceiling, outbound_token=token, ca_file=ca_file
        )
    typer.echo(inbound)
    note(
        f"partner {name} linked. The token above is what {name} uses to reach this node; "
        "give it to its administrator over a secure channel (shown once)."
    )
    if token is None:
        note(f"no outbound token yet: set it with `jointwatch admin partner set-token {name} ...`")


@partner_app.command("set-token")
def partner_set_token(
    name: str,
    token: Annotated[str, typer.Argument(help="Token the partner issued to this node")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the credential this node presents when pushing to and pulling from the partner."""
    with open_service(data_dir, database_url) as service:
        service.records.update_partner(name, outbound_token=token, last_error=None)
        audit_change(service, "partner", name, op="set-token")
    note(f"outbound token of {name} set")


@partner_app.command("set-url")
def partner_set_url(
    name: str, url: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Point at the partner's new address."""
    if not url.startswith(("http://", "https://")):
        raise fail("a partner URL starts with http:// or https://")
    with open_service(data_dir, database_url) as service:
        service.records.update_partner(name, url=url.rstrip("/"), last_error=None)
        audit_change(service, "partner", name, op="set-url", url=url.rstrip("/"))
    note(f"url of {name} set to {url.rstrip('/')}")


@partner_app.command("list")
def partner_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Partners with their sync health: cursors, backlog, last error, receipts."""
    with open_service(data_dir, database_url) as service:
        partners = service.partners_health()
    print_table(
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
                yes_no(p["enabled"]),
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
    with open_service(data_dir, database_url) as service:
        service.records.delete_partner(name)
        with suppress(AccountError):  # no inbound identity left to disable
            service.accounts.set_disabled(f"partner.{name}", True)
        audit_change(service, "partner", name, op="remove")
    note(f"partner {name} removed")


def _set_partner_enabled(name: str, enabled: bool, data_dir: Path | None, url: str | None) -> None:
    with open_service(data_dir, url) as service:
        service.records.update_partner(name, enabled=enabled)
        audit_change(service, "partner", name, op="enable" if enabled else "disable")
    note(f"partner {name} {'enabled' if enabled else 'disabled'}")


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
        raise fail(
            f"group name {name!r} must be 2-40 capitals, digits, '-' or '_', "
            "and not three letters (those are nations)"
        )
    members = sorted({n.strip().upper() for n in nations.split(",") if n.strip()})
    if not members:
        raise fail("a group needs at least one nation (--nations VNM,PHL)")
    bad = [n for n in members if not is_nation(n)]
    if bad:
        raise fail(f"not ISO 3166 alpha-3 nation codes: {', '.join(bad)}")
    with open_service(data_dir, database_url) as service:
        service.records.put_group(group, members, description)
        service.reload_groups()
        audit_change(service, "group", group, op="set", nations=members)
    note(f"group {group}: {', '.join(members)}; {_GROUPS_NOTE}")


@group_app.command("list")
def group_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Sharing groups and their members."""
    with open_service(data_dir, database_url) as service:
        groups = service.records.groups()
    print_table(
        "sharing groups",
        ("name", "nations", "description"),
        ((n, ",".join(g["nations"]), g["description"]) for n, g in groups.items()),
    )


@group_app.command("remove")
def group_remove(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Remove a group; records REL TO it then reach nobody through it."""
    group = name.strip().upper()
    with open_service(data_dir, database_url) as service:
        service.records.delete_group(group)
        service.reload_groups()
        audit_change(service, "group", group, op="remove")
    note(f"group {group} removed; {_GROUPS_NOTE}")

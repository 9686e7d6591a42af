"""``jointwatch audit ...``: verify and read the node's hash-chained audit log, with the
node stopped if need be (or compromised): straight from its database, a signed head and the
node's public key.

Re-exported by ``jointwatch.cli_admin``, which ``jointwatch.cli`` registers it from; the
helpers are ``jointwatch.cli_admin_common``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from jointwatch.cli_admin_common import (
    DatabaseUrl,
    DataDir,
    fail,
    note,
    open_service,
    out_console,
    print_table,
)

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="Verify and read the node's hash-chained audit log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

HEAD_FILE = "audit-head.json"
PUBLIC_KEY_FILE = "node-ed25519.pub"


def _load_head(path: Path) -> dict[str, Any]:
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read signed head {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise fail(f"signed head {path} is not JSON: {exc}") from exc
    if not isinstance(head, dict) or not {"node", "seq", "hash", "signature"} <= head.keys():
        raise fail(f"signed head {path} needs node, seq, hash and signature")
    return head


def _load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise fail(
            f"cannot read the node's public key {path}: {exc.strerror or exc}; "
            "without it the signed head cannot be checked"
        ) from exc
    except ValueError as exc:
        raise fail(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise fail(f"{path} is not an Ed25519 public key")
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

    with open_service(data_dir, database_url) as service:
        node_dir = service.settings.data_dir
        head_path = head if head is not None else node_dir / HEAD_FILE
        signed = _load_head(head_path) if head is not None or head_path.is_file() else None
        key = _load_public_key(public_key or node_dir / PUBLIC_KEY_FILE) if signed else None
        want = None
        if signed is not None:
            try:
                want = int(signed["seq"])
            except (TypeError, ValueError) as exc:
                raise fail(f"signed head {head_path} has no integer seq") from exc
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
            note(
                f"[yellow]note:[/] the signed head names node {signed['node']!r}, "
                f"this node is {node_name!r}"
            )
    out = out_console()
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
    with open_service(data_dir, database_url) as service:
        entries = service.audit.recent(limit=limit, object_id=object_id)
    print_table(
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

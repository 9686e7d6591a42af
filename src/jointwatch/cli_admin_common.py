"""What every ``jointwatch admin ...`` and ``jointwatch audit ...`` command shares: the
node's sharing service opened on its database, admin changes audited as ``admin-cli``, one
red line and exit 2 for bad input, notes on stderr and tables on stdout.

These modules do not import ``jointwatch.cli`` (which registers them), so its few helpers
are repeated here, once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from jointwatch.config import Settings
from jointwatch.errors import JointWatchError

__all__ = [
    "ACTOR",
    "DataDir",
    "DatabaseUrl",
    "audit_change",
    "fail",
    "note",
    "open_service",
    "out_console",
    "print_table",
    "yes_no",
]

ACTOR = "admin-cli"

DataDir = Annotated[
    Path | None, typer.Option(help="Node data directory [default: $JOINTWATCH_DATA_DIR]")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="SQLAlchemy URL [default: $JOINTWATCH_DATABASE_URL]")
]


def _err() -> Console:
    # Built per call, not at import, so it writes to whatever stderr is current (tests).
    return Console(stderr=True, soft_wrap=True)


def out_console() -> Console:
    """The console for stdout, built per call like stderr's."""
    # Piped output (grep, a ticket) gets room for whole key ids and timestamps.
    console = Console()
    if not console.is_terminal and console.width < 200:
        console = Console(width=200)
    return console


def fail(exc: Exception | str) -> typer.Exit:
    """One red line and exit 2, as ``jointwatch.cli`` does for bad input."""
    _err().print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(code=2)


def note(text: str) -> None:
    """A line for the human on stderr, so stdout carries only what a script captures."""
    _err().print(text, highlight=False)


def _settings(data_dir: Path | None, database_url: str | None) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    return Settings(**{k: v for k, v in values.items() if v is not None})


@contextmanager
def open_service(data_dir: Path | None, database_url: str | None) -> Iterator[Any]:
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
        raise fail(exc) from exc
    try:
        migrate(engine)
        service = SharingService(settings, engine)
    except (JointWatchError, OperationalError) as exc:
        engine.dispose()
        raise fail(f"cannot open the node's database: {exc}") from exc
    try:
        yield service
    except JointWatchError as exc:
        raise fail(exc) from exc
    finally:
        engine.dispose()


def audit_change(service: Any, object_type: str, object_id: str, **detail: Any) -> None:
    """An admin change, attributed to ``admin-cli`` (never with a secret in ``detail``)."""
    from jointwatch.store.accounts import Principal

    actor = Principal(0, ACTOR, service.nation, "admin", service.levels[-1])
    service.audit_event(actor, "admin", object_type, object_id, **detail)


def yes_no(value: Any) -> str:
    """A flag as a table shows it."""
    return "yes" if value else "no"


def print_table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """Rows under ``columns`` on stdout; ``None`` shows as an empty cell."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")  # never cut an id someone must type
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out_console().print(table)

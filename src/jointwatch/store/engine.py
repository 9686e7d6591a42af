"""Database engines and schema migration for SQLite (default) and PostgreSQL.

Why these settings: SQLite is the one-command default, so it must be safe under a crash and
under the API reading while ingest writes: WAL lets readers proceed during a write,
``synchronous=FULL`` makes a committed transaction survive power loss (SECURITY.md rule 5),
and a busy timeout turns a brief lock into a short wait instead of an error. PostgreSQL goes
through psycopg 3, whatever spelling of the URL the operator used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from jointwatch.errors import JointWatchError

__all__ = [
    "MIGRATIONS_DIR",
    "SUPPORTED_DIALECTS",
    "DatabaseUrlError",
    "make_engine",
    "migrate",
    "normalise_url",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
_SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any constant works; it only has to be the same in every process migrating one database.
_PG_MIGRATION_LOCK_KEY = 0x4A57_0001


class DatabaseUrlError(JointWatchError, ValueError):
    """The database URL is malformed or names a database JointWatch does not support."""


def normalise_url(url: str | URL) -> URL:
    """The URL with PostgreSQL routed to psycopg 3 (``postgresql://`` and ``postgres://``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {url!s}") from exc
    # Read the URL's own spelling: asking SQLAlchemy for the driver would load a dialect,
    # and "postgres" (Heroku style) has no dialect at all.
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend not in SUPPORTED_DIALECTS:
        raise DatabaseUrlError(
            f"unsupported database {backend!r}: use sqlite:///path.db or postgresql://..."
        )
    if backend == "postgresql" and driver != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, full sync, foreign keys, a timeout.

    A SQLite file's directory is created if missing, so a fresh data directory just works.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (``alembic upgrade head``); idempotent.

    On PostgreSQL an advisory lock serialises nodes starting at the same time against one
    database, so two processes never race to create the same table.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

"""Alembic environment for JointWatch.

``jointwatch.store.migrate`` passes its own connection in ``config.attributes``, so the
migrations run inside the caller's transaction (and, on PostgreSQL, under its advisory
lock). Run from the ``alembic`` command line (``alembic -c src/jointwatch/store/alembic.ini
upgrade head``) it connects to ``JOINTWATCH_DATABASE_URL`` instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from jointwatch.store import sharing_models as _sharing_models  # noqa: F401 - registers tables
from jointwatch.store.engine import make_engine, normalise_url
from jointwatch.store.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = os.environ.get("JOINTWATCH_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set JOINTWATCH_DATABASE_URL to the database to migrate")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit SQL for a DBA to review instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=normalise_url(_database_url()),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the caller's connection, or on a fresh one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = make_engine(_database_url())
    try:
        with engine.begin() as own_connection:
            _configure(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

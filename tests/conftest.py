"""Fixtures shared by every test layer.

``db_url`` runs a test once on SQLite and once on PostgreSQL. Each PostgreSQL run gets its
own database with a random name, dropped afterwards, so tests (and the node processes some
of them start) never see each other's rows. An unreachable PostgreSQL fails the tests:
a silent skip would let a PostgreSQL-only bug through. Set ``JOINTWATCH_TEST_SKIP_PG=1``
to skip them on purpose.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from jointwatch.store import normalise_url

PG_ADMIN_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _pg_admin_url() -> URL:
    return normalise_url(os.environ.get("JOINTWATCH_TEST_PG_URL", PG_ADMIN_URL_DEFAULT))


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine]:
    """An AUTOCOMMIT connection pool on the server's admin database (CREATE DATABASE)."""
    if os.environ.get("JOINTWATCH_TEST_SKIP_PG") == "1":
        pytest.skip("PostgreSQL tests skipped: JOINTWATCH_TEST_SKIP_PG=1")
    url = _pg_admin_url()
    engine = sa.create_engine(
        url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.fail(
            f"PostgreSQL unreachable at {url.render_as_string(hide_password=True)} ({exc.orig}); "
            "start it, point JOINTWATCH_TEST_PG_URL at one, or set JOINTWATCH_TEST_SKIP_PG=1",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture
def pg_database_url(pg_admin_engine: sa.Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped (connections and all) after the test."""
    name = f"jointwatch_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = pg_admin_engine.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLAlchemy URL of an empty database: a SQLite file, or a throwaway PostgreSQL db."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jointwatch-test.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url

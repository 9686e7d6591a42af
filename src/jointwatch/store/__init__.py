"""The relational store: SQLAlchemy models, Alembic migrations and repositories.

SQLite (WAL, ``synchronous=FULL``) is the default; PostgreSQL is supported through
psycopg 3. Both run the same migrations and the same repository code.
"""

from jointwatch.store.engine import DatabaseUrlError, make_engine, migrate, normalise_url
from jointwatch.store.models import Base, IngestCounter, Vessel
from jointwatch.store.repositories import CounterRepository, VesselRepository

__all__ = [
    "Base",
    "CounterRepository",
    "DatabaseUrlError",
    "IngestCounter",
    "Vessel",
    "VesselRepository",
    "make_engine",
    "migrate",
    "normalise_url",
]

"""Users and their credentials: passwords, API keys, console sessions, enrolment links.

Why these choices (SECURITY.md rule 4): passwords are hashed with argon2id (argon2-cffi);
API keys and session and enrolment secrets are 256-bit random values, so a SHA-256 of them
is enough to store and fast to check on every request; a key is shown once, may expire, may
be limited to some client addresses and may be read-only.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from jointwatch.errors import JointWatchError
from jointwatch.sharing.markings import is_nation
from jointwatch.sharing.roles import ROLES, permissions_for
from jointwatch.store.sharing_models import ApiKey, Enrolment, UserAccount, UserSession

__all__ = ["AccountError", "AccountRepository", "Principal"]

_USERS: sa.Table = UserAccount.__table__  # type: ignore[assignment]
_KEYS: sa.Table = ApiKey.__table__  # type: ignore[assignment]
_SESSIONS: sa.Table = UserSession.__table__  # type: ignore[assignment]
_ENROL: sa.Table = Enrolment.__table__  # type: ignore[assignment]
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
_KEY_PREFIX = "jw_"
_LAST_USED_EVERY = timedelta(seconds=60)
_MIN_PASSWORD = 12


class AccountError(JointWatchError, ValueError):
    """A user or credential request cannot be met (unknown user, weak password...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, as every route and egress decision sees it."""

    user_id: int
    username: str
    nation: str
    role: str
    clearance: str
    key_id: str | None = None
    read_only: bool = False

    @property
    def permissions(self) -> frozenset[str]:
        """What this caller may do (role, narrowed by a read-only key)."""
        return permissions_for(self.role, read_only=self.read_only)

    def to_json(self) -> dict[str, Any]:
        """The ``/api/me`` view."""
        return {
            "username": self.username,
            "nation": self.nation,
            "role": self.role,
            "clearance": self.clearance,
            "permissions": sorted(self.permissions),
            "read_only": self.read_only,
        }


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class AccountRepository:
    """The users, api_keys, user_sessions and enrolments tables."""

    def __init__(self, engine: Engine, levels: tuple[str, ...]) -> None:
        self.engine = engine
        self.levels = levels

    # ---- users ---------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        *,
        nation: str,
        role: str,
        clearance: str | None = None,
        password: str | None = None,
    ) -> Principal:
        """A new user; without a password they log in through an enrolment link or a key."""
        name = username.strip()
        if (
            not name
            or len(name) > 64
            or not name.replace("-", "").replace("_", "").replace(".", "").isalnum()
        ):
            raise AccountError("usernames are 1-64 letters, digits, '.', '-' or '_'")
        nation = nation.strip().upper()
        if not is_nation(nation):
            raise AccountError(f"nation {nation!r} is not an ISO 3166 alpha-3 code")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        level = (clearance or self.levels[-1]).strip().upper()
        if level not in self.levels:
            raise AccountError(f"unknown clearance {clearance!r}; levels: {list(self.levels)}")
        hashed = self._hash_password(password) if password is not None else None
        with self.engine.begin() as conn:
            if conn.execute(sa.select(_USERS.c.id).where(_USERS.c.username == name)).first():
                raise AccountError(f"user {name!r} exists already")
            inserted = conn.execute(
                _USERS.insert().values(
                    username=name,
                    nation=nation,
                    role=role,
                    clearance=level,
                    password_hash=hashed,
                    disabled=False,
                    created_at=_now(),
                )
            ).inserted_primary_key
        assert inserted is not None
        return Principal(int(inserted[0]), name, nation, role, level)

    @staticmethod
    def _hash_password(password: str) -> str:
        if len(password) < _MIN_PASSWORD:
            raise AccountError(f"passwords need at least {_MIN_PASSWORD} characters")
        return _HASHER.hash(password)

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password (argon2id)."""
        hashed = self._hash_password(password)
        with self.engine.begin() as conn:
            done = conn.execute(
                _USERS.update().where(_USERS.c.username == username).values(password_hash=hashed)
            ).rowcount
        if not done:
            raise AccountError(f"no user {username!r}")

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (or re-enable) a user; a disabled user's keys and sessions stop working."""
        with self.engine.begin() as conn:
            done = conn.execute(
                _USERS.update().where(_USERS.c.username == username).values(disabled=disabled)
            ).rowcount
            if disabled:
                ids = sa.select(_USERS.c.id).where(_USERS.c.username == username)
                conn.execute(_SESSIONS.delete().where(_SESSIONS.c.user_id.in_(ids)))
        if not done:
            raise AccountError(f"no user {username!r}")

    def user(self, username: str) -> Principal | None:
        """An enabled user by name."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(_USERS).where(_USERS.c.username == username, ~_USERS.c.disabled)
                )
                .mappings()
                .first()
            )
        return _principal(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        """Every user (no secrets)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_USERS).order_by(_USERS.c.username)).mappings().all()
        return [
            {
                "username": r["username"],
                "nation": r["nation"],
                "role": r["role"],
                "clearance": r["clearance"],
                "disabled": bool(r["disabled"]),
                "has_password": r["password_hash"] is not None,
            }
            for r in rows
        ]

    def count_users(self) -> int:
        """How many users exist (a node with none prints how to create the first)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_USERS)).scalar_one())

    def check_password(self, username: str, password: str) -> Principal | None:
        """The user if the password matches; None otherwise (same cost either way)."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(_USERS).where(_USERS.c.username == username, ~_USERS.c.disabled)
                )
                .mappings()
                .first()
            )
        stored = row["password_hash"] if row else None
        try:
            if stored is None:
                # Spend the same time as a real check so timing does not reveal usernames.
                _HASHER.verify(_dummy_hash(), password + "x")
                return None
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        assert row is not None
        if _HASHER.check_needs_rehash(stored):
            self.set_password(username, password)
        return _principal(row)

    # ---- API keys ------------------------------------------------------------------------

    def create_key(
        self,
        username: str,
        *,
        name: str = "api",
        read_only: bool = False,
        allowed_ips: list[str] | None = None,
        expires_in: timedelta | None = None,
    ) -> tuple[str, str]:
        """(key id, token); the token is shown once and only its hash is stored."""
        user = self.user(username)
        if user is None:
            raise AccountError(f"no enabled user {username!r}")
        nets = []
        for net in allowed_ips or []:
            try:
                nets.append(str(ipaddress.ip_network(net.strip(), strict=False)))
            except ValueError as exc:
                raise AccountError(f"allowed address {net!r} is not an IP or network") from exc
        key_id = "k" + secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                _KEYS.insert().values(
                    id=key_id,
                    user_id=user.user_id,
                    name=name[:120],
                    secret_hash=_sha(secret),
                    read_only=read_only,
                    allowed_ips=nets,
                    expires_at=now + expires_in if expires_in else None,
                    last_used_at=None,
                    created_at=now,
                    revoked_at=None,
                )
            )
        return key_id, f"{_KEY_PREFIX}{key_id}_{secret}"

    def keys(self, username: str | None = None) -> list[dict[str, Any]]:
        """Keys with their metadata (never the secret)."""
        query = sa.select(_KEYS, _USERS.c.username).join(_USERS, _USERS.c.id == _KEYS.c.user_id)
        if username:
            query = query.where(_USERS.c.username == username)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_KEYS.c.created_at)).mappings().all()
        return [
            {
                "id": r["id"],
                "username": r["username"],
                "name": r["name"],
                "read_only": bool(r["read_only"]),
                "allowed_ips": list(r["allowed_ips"] or []),
                "expires_at": _iso(r["expires_at"]),
                "last_used_at": _iso(r["last_used_at"]),
                "revoked": r["revoked_at"] is not None,
            }
            for r in rows
        ]

    def revoke_key(self, key_id: str) -> None:
        """Stop a key working at once."""
        with self.engine.begin() as conn:
            done = conn.execute(
                _KEYS.update().where(_KEYS.c.id == key_id).values(revoked_at=_now())
            ).rowcount
        if not done:
            raise AccountError(f"no key {key_id!r}")

    def authenticate_key(self, token: str, client_ip: str | None) -> Principal | None:
        """The key's user if the token is genuine, live, and used from an allowed address."""
        if not token.startswith(_KEY_PREFIX):
            return None
        key_id, sep, secret = token[len(_KEY_PREFIX) :].partition("_")
        if not sep or not secret:
            return None
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(_KEYS, _USERS)
                    .join(_USERS, _USERS.c.id == _KEYS.c.user_id)
                    .where(_KEYS.c.id == key_id)
                )
                .mappings()
                .first()
            )
        if row is None or not secrets.compare_digest(row["secret_hash"], _sha(secret)):
            return None
        now = _now()
        expires = _aware(row["expires_at"])
        if row["revoked_at"] is not None or row["disabled"] or (expires and expires <= now):
            return None
        if row["allowed_ips"]:
            try:
                address = ipaddress.ip_address(client_ip or "")
            except ValueError:
                return None
            if not any(address in ipaddress.ip_network(n) for n in row["allowed_ips"]):
                return None
        last = _aware(row["last_used_at"])
        if last is None or now - last > _LAST_USED_EVERY:
            with self.engine.begin() as conn:
                conn.execute(_KEYS.update().where(_KEYS.c.id == key_id).values(last_used_at=now))
        return Principal(
            int(row["user_id"]),
            row["username"],
            row["nation"],
            row["role"],
            row["clearance"],
            key_id=key_id,
            read_only=bool(row["read_only"]),
        )

    # ---- sessions and enrolment ----------------------------------------------------------

    def create_session(self, user_id: int, ttl: timedelta) -> str:
        """A console session; the returned secret goes in an HttpOnly cookie."""
        secret = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(_SESSIONS.delete().where(_SESSIONS.c.expires_at <= now))
            conn.execute(
                _SESSIONS.insert().values(
                    id_hash=_sha(secret), user_id=user_id, created_at=now, expires_at=now + ttl
                )
            )
        return secret

    def session_user(self, secret: str) -> Principal | None:
        """The user of a live session."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(_USERS, _SESSIONS.c.expires_at)
                    .join(_SESSIONS, _SESSIONS.c.user_id == _USERS.c.id)
                    .where(_SESSIONS.c.id_hash == _sha(secret), ~_USERS.c.disabled)
                )
                .mappings()
                .first()
            )
        if row is None or (_aware(row["expires_at"]) or _now()) <= _now():
            return None
        return _principal(row)

    def end_session(self, secret: str) -> None:
        """Log out."""
        with self.engine.begin() as conn:
            conn.execute(_SESSIONS.delete().where(_SESSIONS.c.id_hash == _sha(secret)))

    def create_enrolment(self, username: str, ttl: timedelta = timedelta(minutes=15)) -> str:
        """A single-use login secret for ``/auth/enrol?token=...``."""
        user = self.user(username)
        if user is None:
            raise AccountError(f"no enabled user {username!r}")
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                _ENROL.insert().values(
                    token_hash=_sha(secret), user_id=user.user_id, expires_at=_now() + ttl
                )
            )
        return secret

    def redeem_enrolment(self, secret: str) -> Principal | None:
        """The user, once: the link is spent whether or not the login that follows works."""
        now = _now()
        with self.engine.begin() as conn:
            row = (
                conn.execute(sa.select(_ENROL).where(_ENROL.c.token_hash == _sha(secret)))
                .mappings()
                .first()
            )
            if row is None or row["used_at"] is not None:
                return None
            conn.execute(
                _ENROL.update()
                .where(_ENROL.c.token_hash == row["token_hash"], _ENROL.c.used_at.is_(None))
                .values(used_at=now)
            )
            if (_aware(row["expires_at"]) or now) <= now:
                return None
            user = (
                conn.execute(
                    sa.select(_USERS).where(_USERS.c.id == row["user_id"], ~_USERS.c.disabled)
                )
                .mappings()
                .first()
            )
        return _principal(user) if user else None


@functools.cache
def _dummy_hash() -> str:
    """A real argon2id hash to verify against when a user has none (computed once)."""
    return _HASHER.hash("jointwatch-timing-equaliser")


def _principal(row: Any) -> Principal:
    return Principal(int(row["id"]), row["username"], row["nation"], row["role"], row["clearance"])


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None

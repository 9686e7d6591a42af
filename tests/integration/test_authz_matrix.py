"""SECURITY S1: the authorization matrix, every route x method x caller, in process.

Every route must declare its permission (``Depends(require(...))`` or ``Depends(public)``,
read back with ``permission_of``). Then each route is called with every method it accepts by
every kind of caller: a user of each role in ``ROLES`` (and a liaison of another nation),
read-only keys, the linked partner node, credentials that must not work (expired, revoked,
disabled user, wrong client address, wrong secret, unknown key, wrong scheme) and no
credential at all. The expected outcome of each cell is derived from ``ROLES`` and
``permissions_for``, so a change of the role table changes the matrix with it:

* public route: never 401 or 403;
* no or bad credential: 401;
* a caller whose permissions lack the route's: 403;
* a caller who has it: neither 401 nor 403 (404, 409, 422 are fine: dummy parameters);
* nobody ever gets a 5xx.

Plus: methods a path does not accept answer 405, a cookie-authenticated write from a foreign
``Origin`` is refused, and the WebSocket refuses callers without ``picture:read``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from jointwatch.api.app import create_app
from jointwatch.api.auth import SESSION_COOKIE, permission_of
from jointwatch.config import Settings
from jointwatch.sharing.roles import PERMISSIONS, ROLES, permissions_for
from jointwatch.sharing.service import SharingService

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DUMMY_PARAMS = {
    "mmsi": "366000001",
    "gid": "jw-usa:0000",
    "name": "no-such-zone",
    "request_id": "1",
}
# FastAPI's own schema route: a plain Starlette Route FastAPI adds for /docs (public, like
# /docs itself), not an application route that could declare a dependency.
FRAMEWORK_PUBLIC = {"/openapi.json"}


@dataclass(frozen=True)
class Caller:
    """One column of the matrix."""

    name: str
    headers: dict[str, str]
    permissions: frozenset[str] | None  # None: must not authenticate
    client: str = "default"


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: frozenset[str]
    permission: str | None
    websocket: bool = False


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    """Every route, included routers flattened (FastAPI >= 0.16x keeps them nested)."""
    from fastapi import routing

    flatten = getattr(routing, "iter_route_contexts", None)
    if flatten is None:  # older FastAPI: app.routes is already flat
        yield from app.routes
        return
    yield from flatten(app.routes)


def endpoints(app: FastAPI) -> list[Endpoint]:
    out = []
    for rc in _route_contexts(app):
        original = getattr(rc, "original_route", rc)
        if isinstance(original, Mount):
            continue  # the console's StaticFiles
        dependant = getattr(original, "dependant", None)
        permission = permission_of(dependant.dependencies) if dependant is not None else None
        out.append(
            Endpoint(
                path=str(rc.path),
                methods=frozenset(getattr(rc, "methods", None) or ()),
                permission=permission,
                websocket=isinstance(original, APIWebSocketRoute),
            )
        )
    return out


# ---- the node and its callers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    data_dir: Path = tmp_path_factory.mktemp("authz")
    app = create_app(Settings(data_dir=data_dir, nation="USA", detect=False, federation=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def callers(node: tuple[FastAPI, TestClient]) -> list[Caller]:
    app, _ = node
    sharing: SharingService = app.state.sharing
    accounts = sharing.accounts
    out: list[Caller] = []

    def user(name: str, role: str, nation: str = "USA", **key: Any) -> str:
        accounts.create_user(name, nation=nation, role=role, clearance="SECRET")
        return accounts.create_key(name, **key)[1]

    for role in ROLES:
        if role == "partner":
            continue  # a partner identity is made by linking a partner (below)
        token = user(f"user-{role}", role)
        out.append(Caller(role, _bearer(token), permissions_for(role)))
        ro_token = accounts.create_key(f"user-{role}", name="ro", read_only=True)[1]
        out.append(
            Caller(f"{role} read-only", _bearer(ro_token), permissions_for(role, read_only=True))
        )
    out.append(
        Caller("liaison VNM", _bearer(user("liaison-vnm", "liaison", "VNM")), ROLES["liaison"])
    )
    partner_token = sharing.add_partner("vnm", nation="VNM", url=None, ceiling="SECRET")
    out.append(Caller("partner node vnm", _bearer(partner_token), permissions_for("partner")))

    # Credentials that must not work, whatever role they belong to.
    expired = user("expired-admin", "admin", expires_in=timedelta(seconds=-1))
    out.append(Caller("expired key", _bearer(expired), None))
    revoked_id, revoked = accounts.create_key("user-admin", name="revoked")
    accounts.revoke_key(revoked_id)
    out.append(Caller("revoked key", _bearer(revoked), None))
    disabled = user("disabled-admin", "admin")
    accounts.set_disabled("disabled-admin", True)
    out.append(Caller("disabled user", _bearer(disabled), None))
    fenced = accounts.create_key("user-admin", name="fenced", allowed_ips=["10.1.2.0/24"])[1]
    out.append(Caller("key from a foreign address", _bearer(fenced), None))
    out.append(Caller("key from its allowed address", _bearer(fenced), ROLES["admin"], "fenced"))
    good = accounts.create_key("user-admin", name="good")[1]
    key_id, _, secret = good[len("jw_") :].partition("_")
    out.append(Caller("wrong secret", _bearer(f"jw_{key_id}_{'A' * len(secret)}"), None))
    out.append(Caller("unknown key", _bearer("jw_k000000000000_" + "B" * 43), None))
    out.append(Caller("not a key", _bearer("hello"), None))
    out.append(Caller("empty bearer", {"Authorization": "Bearer "}, None))
    out.append(Caller("basic scheme", {"Authorization": f"Basic {good}"}, None))
    out.append(Caller("unknown session cookie", {"Cookie": f"{SESSION_COOKIE}=nope"}, None))
    out.append(Caller("no credential", {}, None))
    return out


def _url(path: str) -> str:
    """The path with a dummy value for each parameter (a known one, else a plain word)."""
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: DUMMY_PARAMS.get(m[1], "dummy-1"), path)


def _send(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if method in WRITE_METHODS:
        kwargs["json"] = {}
    return client.request(method, _url(path), **kwargs).status_code


# ---- the tests ----------------------------------------------------------------------------


def test_every_route_declares_a_permission(node: tuple[FastAPI, TestClient]) -> None:
    app, _ = node
    found = endpoints(app)
    assert len(found) > 25
    undeclared = [
        f"{'WS' if e.websocket else ','.join(sorted(e.methods))} {e.path}"
        for e in found
        if e.permission is None and e.path not in FRAMEWORK_PUBLIC
    ]
    assert undeclared == [], f"routes without a declared permission: {undeclared}"
    unknown = {e.permission for e in found} - {*PERMISSIONS, "public", "authenticated", None}
    assert unknown == set(), f"permissions not in roles.PERMISSIONS: {unknown}"


def test_framework_schema_route_is_public_and_complete(node: tuple[FastAPI, TestClient]) -> None:
    """/openapi.json has no dependency (FastAPI adds it); it is public like /docs, and every
    path it documents is one the matrix walks."""
    app, client = node
    response = client.get("/openapi.json")
    assert response.status_code == 200
    walked = {e.path for e in endpoints(app)}
    assert set(response.json()["paths"]) <= walked


def test_authorization_matrix(node: tuple[FastAPI, TestClient], callers: list[Caller]) -> None:
    app, default_client = node
    fenced_client = TestClient(app, raise_server_exceptions=False, client=("10.1.2.3", 40000))
    clients = {"default": default_client, "fenced": fenced_client}
    cells = 0
    failures: list[str] = []
    for endpoint in endpoints(app):
        if endpoint.websocket or endpoint.permission is None:
            continue  # the WebSocket has its own test; undeclared routes fail the test above
        for method in sorted(endpoint.methods - {"HEAD"}):
            for caller in callers:
                status = _send(clients[caller.client], method, endpoint.path, caller.headers)
                cells += 1
                expected = _expectation(endpoint.permission, caller)
                if status >= 500 or not expected(status):
                    failures.append(
                        f"{method} {endpoint.path} as {caller.name}: {status} "
                        f"(permission {endpoint.permission}, expected {expected.__doc__})"
                    )
    assert failures == [], "\n".join(failures)
    assert cells >= 30 * len(callers)


def _expectation(permission: str, caller: Caller) -> Any:
    def not_refused(status: int) -> bool:
        """neither 401 nor 403"""
        return status not in (401, 403)

    def unauthenticated(status: int) -> bool:
        """401"""
        return status == 401

    def forbidden(status: int) -> bool:
        """403"""
        return status == 403

    if permission == "public":
        return not_refused
    if caller.permissions is None:
        return unauthenticated
    if permission == "authenticated" or permission in caller.permissions:
        return not_refused
    return forbidden


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)))


def test_undeclared_methods_are_405(
    node: tuple[FastAPI, TestClient], callers: list[Caller]
) -> None:
    """A method a route does not accept is 405 for everybody, before any check: no route
    answers a method its policy was not written for (MISP: checked on POST, not PUT)."""
    app, client = node
    found = [e for e in endpoints(app) if not e.websocket]
    admin = next(c for c in callers if c.name == "admin")
    tried = 0
    for endpoint in found:
        url = _url(endpoint.path)
        for method in ALL_METHODS:
            if any(
                method in other.methods and _pattern(other.path).fullmatch(url) for other in found
            ):
                continue  # served by a route of the matrix (e.g. /api/records/{gid})
            for caller in (admin, callers[-1]):
                status = _send(client, method, endpoint.path, caller.headers)
                assert status == 405, f"{method} {url} as {caller.name}: {status}"
                tried += 1
    assert tried > 100


def test_unlinked_partner_identity_gets_no_federation(node: tuple[FastAPI, TestClient]) -> None:
    """A partner-role user not linked to a partner node holds the permission but is refused
    by the route: it speaks for no partner."""
    app, client = node
    accounts = app.state.sharing.accounts
    accounts.create_user("stray-partner", nation="PHL", role="partner")
    headers = _bearer(accounts.create_key("stray-partner")[1])
    assert client.get("/api/federation/hello", headers=headers).status_code == 403
    assert client.get("/api/federation/records", headers=headers).status_code == 403
    push = {"node": "x", "nation": "PHL", "records": []}
    assert client.post("/api/federation/records", json=push, headers=headers).status_code == 403


def test_linked_partner_is_who_it_says(
    node: tuple[FastAPI, TestClient], callers: list[Caller]
) -> None:
    _, client = node
    partner = next(c for c in callers if c.name == "partner node vnm")
    hello = client.get("/api/federation/hello", headers=partner.headers)
    assert hello.status_code == 200 and hello.json()["you"] == "vnm"
    # A push naming another nation than the partner's is refused.
    push = {"node": "jw-phl", "nation": "PHL", "records": []}
    assert (
        client.post("/api/federation/records", json=push, headers=partner.headers).status_code
        == 403
    )


# ---- cookies and Origin -------------------------------------------------------------------


@pytest.fixture(scope="module")
def cookie_client(node: tuple[FastAPI, TestClient]) -> TestClient:
    app, _ = node
    app.state.sharing.accounts.create_user(
        "console-admin", nation="USA", role="admin", password="correct horse battery"
    )
    client = TestClient(app, raise_server_exceptions=False)  # its own cookie jar
    bad = client.post("/auth/login", json={"username": "console-admin", "password": "x" * 12})
    assert bad.status_code == 401
    response = client.post(
        "/auth/login", json={"username": "console-admin", "password": "correct horse battery"}
    )
    assert response.status_code == 200, response.text
    assert client.cookies.get(SESSION_COOKIE)
    return client


def test_login_from_a_foreign_origin_is_refused(node: tuple[FastAPI, TestClient]) -> None:
    app, _ = node
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post(
        "/auth/login",
        json={"username": "console-admin", "password": "correct horse battery"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert not client.cookies.get(SESSION_COOKIE)


def test_cookie_write_from_a_foreign_origin_is_refused(
    node: tuple[FastAPI, TestClient], cookie_client: TestClient
) -> None:
    app, _ = node
    foreign = {"Origin": "https://evil.example"}
    same = {"Origin": "http://testserver"}
    preview = {"marking": {"classification": "SECRET"}}
    record = {
        "kind": "report",
        "payload": {"title": "cookie"},
        "marking": {"classification": "RESTRICTED", "rel_to": ["VNM"]},
    }
    before = app.state.sharing.records.count()
    # Reads are fine cross-site (SameSite=Strict keeps the cookie home anyway).
    assert cookie_client.get("/api/me", headers=foreign).status_code == 200
    refused = [
        cookie_client.post("/api/records", json=record, headers=foreign),
        cookie_client.post("/api/records/preview", json=preview, headers=foreign),
        cookie_client.put("/api/records/jw-usa:0000", json={"payload": {}}, headers=foreign),
        cookie_client.delete("/api/records/jw-usa:0000", headers=foreign),
        cookie_client.post("/api/zones", json={}, headers=foreign),
        cookie_client.post("/api/records", json=record, headers={"Origin": "null"}),
        cookie_client.post(
            "/api/records", json=record, headers={"Origin": "http://testserver.evil.example"}
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert app.state.sharing.records.count() == before  # nothing was written
    created = cookie_client.post("/api/records", json=record, headers=same)
    assert created.status_code == 201, created.text
    assert cookie_client.post("/api/records/preview", json=preview).status_code == 200
    gid = created.json()["gid"]
    assert cookie_client.delete(f"/api/records/{gid}", headers=foreign).status_code == 403
    assert cookie_client.delete(f"/api/records/{gid}", headers=same).status_code == 200


def test_logout_ends_the_session(node: tuple[FastAPI, TestClient]) -> None:
    app, _ = node
    client = TestClient(app, raise_server_exceptions=False)
    login = {"username": "console-admin", "password": "correct horse battery"}
    assert client.post("/auth/login", json=login).status_code == 200
    secret = client.cookies.get(SESSION_COOKIE)
    assert client.get("/api/me").status_code == 200
    assert client.post("/auth/logout").status_code == 200
    stale = TestClient(app, raise_server_exceptions=False)
    assert stale.get("/api/me", headers={"Cookie": f"{SESSION_COOKIE}={secret}"}).status_code == 401


# ---- WebSocket ----------------------------------------------------------------------------


def _ws_refused(client: TestClient, headers: dict[str, str]) -> bool:
    try:
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.receive_json()
    except WebSocketDisconnect as exc:
        assert exc.code == 4401
        return True
    return False


def test_websocket_needs_picture_read(
    node: tuple[FastAPI, TestClient], callers: list[Caller], cookie_client: TestClient
) -> None:
    _, client = node
    for caller in callers:
        if caller.client != "default":
            continue
        allowed = caller.permissions is not None and "picture:read" in caller.permissions
        assert _ws_refused(client, dict(caller.headers)) is not allowed, caller.name
    admin = next(c for c in callers if c.name == "admin")
    with client.websocket_connect("/ws", headers=dict(admin.headers)) as ws:
        assert ws.receive_json()["type"] == "snapshot"
    # A valid credential from a foreign page is refused too (cross-site WebSocket hijacking).
    assert _ws_refused(client, {**admin.headers, "Origin": "https://evil.example"})
    cookie = {"Cookie": f"{SESSION_COOKIE}={cookie_client.cookies.get(SESSION_COOKIE)}"}
    assert not _ws_refused(client, {**cookie, "Origin": "http://testserver"})
    assert _ws_refused(client, {**cookie, "Origin": "https://evil.example"})

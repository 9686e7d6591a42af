"""Authentication and authorization of every request.

Why one dependency per route: each route declares ``Depends(require("<permission>"))``
(or ``PUBLIC``); the authorization-matrix test reads that declaration from every route and
fails for a route without one, and a permission is granted only by ``sharing/roles.py``.
Callers authenticate with an API key (``Authorization: Bearer jw_...``) or a console session
cookie; a cookie-authenticated write must come from this node's own pages (Origin check).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response, WebSocket
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from jointwatch.sharing.service import SharingService
from jointwatch.store.accounts import Principal

__all__ = [
    "PUBLIC",
    "SESSION_COOKIE",
    "authenticate_ws",
    "permission_of",
    "public",
    "require",
    "router",
    "sharing",
    "websocket_policy",
]

SESSION_COOKIE = "jw_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

router = APIRouter()


def sharing(request: Request | WebSocket) -> SharingService:
    """The node's sharing service."""
    service: SharingService = request.app.state.sharing
    return service


def _client_ip(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


def _same_origin(request: Request | WebSocket) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser cross-site request (browsers send Origin on writes)
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


def _identify(request: Request | WebSocket) -> tuple[Principal | None, bool]:
    """(principal, came by cookie)."""
    service = sharing(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, False
        return service.accounts.authenticate_key(token.strip(), _client_ip(request)), False
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return service.accounts.session_user(cookie), True
    return None, False


def require(permission: str | None) -> Callable[..., Any]:
    """A dependency admitting callers that hold ``permission`` (None: any signed-in caller)."""

    async def dependency(request: Request) -> Principal:
        principal, by_cookie = await asyncio.to_thread(_identify, request)
        if principal is None:
            raise HTTPException(
                401,
                "sign in (console) or send an API key: Authorization: Bearer jw_...",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if by_cookie and request.method not in _SAFE_METHODS and not _same_origin(request):
            raise HTTPException(403, "cross-site request refused")
        if permission is not None and permission not in principal.permissions:
            raise HTTPException(
                403, f"{principal.role} {principal.username} lacks permission {permission}"
            )
        request.state.principal = principal
        return principal

    dependency.permission = permission or "authenticated"  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Marks a route as deliberately open (health check, login, enrolment)."""


public.permission = "public"  # type: ignore[attr-defined]
PUBLIC = public


def permission_of(endpoint_dependencies: list[Any]) -> str | None:
    """The permission a route declared (the matrix test reads it)."""
    for dep in endpoint_dependencies:
        call = getattr(dep, "call", None)
        if call is not None and hasattr(call, "permission"):
            return str(call.permission)
    return None


async def authenticate_ws(ws: WebSocket, permission: str) -> Principal | None:
    """The caller of a WebSocket, if signed in, same-origin and permitted."""
    if not _same_origin(ws):
        return None
    principal, _ = await asyncio.to_thread(_identify, ws)
    if principal is None or permission not in principal.permissions:
        return None
    return principal


def websocket_policy(permission: str) -> Callable[..., Any]:
    """The WebSocket route's declared permission: the caller (or None) lands in
    ``websocket.state.principal``; the route accepts and closes with 4401 when it is None."""

    async def dependency(websocket: WebSocket) -> None:
        websocket.state.principal = await authenticate_ws(websocket, permission)

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


# ---- login, logout, enrolment ---------------------------------------------------------


class Login(BaseModel):
    """Console sign-in."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def _set_session(request: Request, response: Response, principal: Principal) -> None:
    service = sharing(request)
    hours = service.settings.session_hours
    secret = service.accounts.create_session(principal.user_id, timedelta(hours=hours))
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post("/auth/login", summary="Sign in to the console", dependencies=[Depends(public)])
async def login(request: Request, body: Login, response: Response) -> dict[str, Any]:
    """Checks the password (argon2id) and sets an HttpOnly, SameSite=Strict session cookie."""
    if not _same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    service = sharing(request)
    principal = await asyncio.to_thread(
        service.accounts.check_password, body.username, body.password
    )
    if principal is None:
        await asyncio.to_thread(
            service.audit_event, None, "login_failed", "user", body.username[:64]
        )
        raise HTTPException(401, "wrong username or password")
    await asyncio.to_thread(_set_session, request, response, principal)
    await asyncio.to_thread(service.audit_event, principal, "login", "user", principal.username)
    return principal.to_json()


@router.post("/auth/logout", summary="Sign out", dependencies=[Depends(public)])
async def logout(request: Request, response: Response) -> dict[str, Any]:
    """Ends the session (the cookie is cleared whatever its state)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await asyncio.to_thread(sharing(request).accounts.end_session, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"signed_out": True}


@router.get(
    "/auth/enrol",
    summary="Sign in once with an enrolment link",
    response_model=None,
    dependencies=[Depends(public)],
)
async def enrol(request: Request, token: str) -> Response:
    """A single-use link (``jointwatch admin user enrol``) opens a console session."""
    service = sharing(request)
    principal = await asyncio.to_thread(service.accounts.redeem_enrolment, token)
    if principal is None:
        raise HTTPException(401, "this enrolment link is unknown, used or expired")
    response = RedirectResponse("/", status_code=303)
    await asyncio.to_thread(_set_session, request, response, principal)
    await asyncio.to_thread(
        service.audit_event, principal, "login", "user", principal.username, via="enrolment"
    )
    return response

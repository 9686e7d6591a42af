"""FastAPI application factory for a JointWatch node.

The app owns the node's background work through its lifespan: the ingest service, the
sources the node reads itself (``JOINTWATCH_SOURCES``), the periodic flush and the WebSocket
hub. Stopping the app flushes everything, so a restarted node keeps what it ingested.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response, WebSocket
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from jointwatch import __version__
from jointwatch.api.auth import public, websocket_policy
from jointwatch.api.auth import router as auth_router
from jointwatch.api.detect_routes import router as detect_router
from jointwatch.api.hub import Hub
from jointwatch.api.ops_routes import router as ops_router
from jointwatch.api.routes import router
from jointwatch.api.sharing_routes import router as sharing_router
from jointwatch.config import Settings
from jointwatch.ops.service import OpsService
from jointwatch.service import IngestService
from jointwatch.sharing.federation import Federation
from jointwatch.sharing.service import SharingService
from jointwatch.sources import open_source
from jointwatch.warmup import warm_up

__all__ = ["create_app"]

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# /docs (Swagger UI, vendored from npm like the map) starts from one inline script; only that
# page allows inline code, and still nothing from other origins.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'"
)


def static_dir() -> Path:
    """The console's static files inside the installed package."""
    return Path(str(resources.files("jointwatch") / "web" / "static"))


async def _run_source(spec: str, service: IngestService, stop: asyncio.Event) -> None:
    """Feed one configured source into the service until the node stops."""
    while not stop.is_set():
        try:
            async for batch in open_source(spec, stop=stop):
                if batch.lines:
                    await asyncio.to_thread(
                        service.ingest_lines, batch.lines, batch.source, batch.rx_time_s
                    )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("source %s failed; restarting it in 2 s", spec)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
        else:
            return


async def _flush_loop(service: IngestService, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=service.settings.state_flush_s)
        try:
            await asyncio.to_thread(service.flush)
        except Exception:
            log.exception("periodic flush failed; will retry")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build a node's app; the ingest service starts with the app's lifespan."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await asyncio.to_thread(partial(IngestService, settings, publish=True))
        # Before any source opens: on a new machine the compiled loops take seconds to
        # build, which the first sentence and its alert would otherwise wait for.
        await asyncio.to_thread(warm_up)
        sharing = SharingService(settings, service.engine)
        hub = Hub(service, sharing, interval_s=settings.ws_push_interval_s)
        stop = asyncio.Event()
        app.state.service = service
        app.state.sharing = sharing
        app.state.ops = OpsService(sharing, service)
        app.state.hub = hub
        app.state.settings = settings
        if await asyncio.to_thread(sharing.accounts.count_users) == 0:
            log.warning(
                "this node has no users yet: create one with "
                "`jointwatch admin user add NAME --role admin --nation %s`",
                sharing.nation,
            )
        tasks = [
            asyncio.create_task(hub.run(stop), name="hub"),
            asyncio.create_task(_flush_loop(service, stop), name="flush"),
        ]
        if settings.federation:
            federation = Federation(sharing, settings.data_dir)
            app.state.federation = federation
            tasks.append(asyncio.create_task(federation.run(stop), name="federation"))
        tasks += [
            asyncio.create_task(_run_source(spec, service, stop), name=f"source {spec}")
            for spec in settings.sources
        ]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(service.close)

    app = FastAPI(
        title="JointWatch node",
        version=__version__,
        description="Common maritime picture of a JointWatch node: vessels, tracks, ingest.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        path = request.url.path
        docs = path == "/docs"
        response.headers["Content-Security-Policy"] = DOCS_CSP if docs else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    app.include_router(auth_router)
    app.include_router(router)
    app.include_router(detect_router)
    app.include_router(sharing_router)
    app.include_router(ops_router)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")

    @app.get("/", include_in_schema=False, dependencies=[Depends(public)])
    async def index() -> FileResponse:
        return FileResponse(static_dir() / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="JointWatch node API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    @app.websocket("/ws", dependencies=[Depends(websocket_policy("picture:read"))])
    async def websocket(ws: WebSocket) -> None:
        principal = ws.state.principal
        if principal is None:
            # Accept first: a close before the handshake reaches the browser as 1006, and
            # the console needs 4401 to know it should show the sign-in form.
            await ws.accept()
            await ws.close(code=4401, reason="sign in first")
            return
        await ws.app.state.hub.serve(ws, principal)

    return app

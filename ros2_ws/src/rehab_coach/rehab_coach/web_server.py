"""The therapist page's HTTP side (aiohttp), on its own thread and event loop.

Why a thread of its own: the page must never slow the perception graph, and
the graph's executor must never stall the page; the two meet only through
the ``PageBackend`` methods, which read the latest state under a lock.

Routes: ``/`` (the page), ``/static/*`` (its JS/CSS, served from
``rehab_coach/web``: no CDN, works offline), ``/api/state``,
``/api/frame.jpg``, ``POST /api/start``, ``POST /api/cancel``, ``/report``
(the session report) and ``/report.html`` (the same, as a download).

Access: with a ``token`` every route needs it, as ``?token=`` (the page then
sets a cookie), an ``X-Rehab-Token`` header or that cookie.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent / "web"
COOKIE = "rehab_token"


class PageBackend(Protocol):
    def state(self) -> dict[str, Any]: ...
    def frame_jpeg(self) -> bytes | None: ...
    def start(self, request: dict[str, Any]) -> dict[str, Any]: ...
    def cancel(self) -> dict[str, Any]: ...
    def report_html(self) -> str: ...


def make_app(backend: PageBackend, token: str = "") -> web.Application:
    """The aiohttp application for ``backend`` (token '' = no check, loopback only)."""

    @web.middleware
    async def check_token(request: web.Request, handler: Any) -> web.StreamResponse:
        if not token:
            return await handler(request)
        given = (request.query.get("token") or request.headers.get("X-Rehab-Token")
                 or request.cookies.get(COOKIE) or "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPUnauthorized(text="this page needs its token: open it as /?token=...")
        response = await handler(request)
        if request.query.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response

    async def run(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(await run(backend.state),
                                 dumps=lambda d: json.dumps(d, allow_nan=False))

    async def frame(_request: web.Request) -> web.Response:
        data = await run(backend.frame_jpeg)
        if data is None:
            return web.Response(status=204, headers={"Cache-Control": "no-store"})
        return web.Response(body=data, content_type="image/jpeg",
                            headers={"Cache-Control": "no-store"})

    async def start(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            raise web.HTTPBadRequest(text="expected a JSON body") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        reply = await run(backend.start, body)
        return web.json_response(reply, status=200 if reply.get("accepted") else 409)

    async def cancel(_request: web.Request) -> web.Response:
        reply = await run(backend.cancel)
        return web.json_response(reply, status=200 if reply.get("canceling") else 409)

    async def report(request: web.Request) -> web.Response:
        headers = {"Cache-Control": "no-store"}
        if request.path.endswith(".html"):
            headers["Content-Disposition"] = 'attachment; filename="session-report.html"'
        return web.Response(text=await run(backend.report_html), content_type="text/html",
                            headers=headers)

    app = web.Application(middlewares=[check_token], client_max_size=64 * 1024)
    app.router.add_get("/", index)
    app.router.add_static("/static/", WEB_DIR, follow_symlinks=False)
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/frame.jpg", frame)
    app.router.add_post("/api/start", start)
    app.router.add_post("/api/cancel", cancel)
    app.router.add_get("/report", report)
    app.router.add_get("/report.html", report)
    return app


class WebServer:
    """Runs an aiohttp app on ``host:port`` in a thread (port 0 = any free port)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> int:
        """Listen; returns the port. Raises OSError when the address cannot be bound."""
        self._thread = threading.Thread(target=self._serve, name="therapist_page", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError(f"the web server did not start in {timeout:g} s")
        if self._error is not None:
            raise OSError(f"cannot serve on {self.host}:{self.port}: {self._error}")
        return self.port

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
            self.port = int(runner.addresses[0][1])
        except BaseException as err:
            self._error = err
            self._ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

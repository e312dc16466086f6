"""The dashboard at ``/__mock/ui``: a page that shows what the mock saw, live.

The page (``mockserver/ui/``: HTML, JavaScript and CSS shipped in the package, nothing loaded
from the internet) is a client of the control API: it polls the journal, jobs, notifications,
webhook deliveries and faults once a second with ``If-None-Match`` (an unchanged answer is a
bodiless 304) and resets through ``POST /__mock/reset``.

The control token guards the page like every ``/__mock/`` endpoint. A browser cannot add a
header to a navigation, so ``GET /__mock/ui?token=<token>`` exchanges the token, once, for a
cookie (``HttpOnly``, ``SameSite=Strict``, path ``/__mock``, ``Secure`` over HTTPS) and redirects
to the bare URL; the page's own requests then carry the cookie. The cookie holds an HMAC of the
token, not the token.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from pathlib import Path

from flask import Blueprint, Request, Response, request

from mockserver.problems import problem

UI_DIR = Path(__file__).parent / "ui"
PAGE = "/__mock/ui"
COOKIE = "mockserver_control"
ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page runs only its own script and talks only to its own origin.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def cookie_value(token: str) -> str:
    """What the dashboard's cookie holds for ``token`` (an HMAC: the token itself stays out)."""
    return hmac.new(token.encode(), b"mockserver dashboard", hashlib.sha256).hexdigest()


def admitted(req: Request, token: str) -> bool:
    """Whether ``req`` carries the dashboard's cookie, or is the page's one-time token exchange."""
    cookie = req.cookies.get(COOKIE, "")
    if cookie and hmac.compare_digest(cookie.encode(), cookie_value(token).encode()):
        return True
    given = req.args.get("token", "") if req.path == PAGE and req.method == "GET" else ""
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


@cache
def _read(name: str) -> bytes:
    return (UI_DIR / name).read_bytes()


def _file(name: str, content_type: str) -> Response:
    response = Response(_read(name), 200, content_type=content_type)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


def register(bp: Blueprint, token: str | None) -> None:
    """Add the page and its assets to the control blueprint (which guards them)."""

    @bp.get("/ui")
    def page() -> Response:
        if token and "token" in request.args:  # the guard let the exchange through
            response = Response(b"", 303, headers={"Location": PAGE})
            response.set_cookie(
                COOKIE,
                cookie_value(token),
                path="/__mock",
                httponly=True,
                samesite="Strict",
                secure=request.is_secure,
            )
            return response
        return _file("index.html", "text/html; charset=utf-8")

    @bp.get("/ui/<name>")
    def asset(name: str) -> Response:
        if name not in ASSETS:
            return problem(404, "control API error", f"no dashboard file {name!r}")
        return _file(name, ASSETS[name])

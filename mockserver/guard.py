"""Who may call the control API: the developer, never a web page they happen to visit.

With no control token (the loopback default) anything that can reach the port could drive the
control API, and a browser can: a page the developer visits may send a cross-site ``POST`` with a
``text/plain`` body (no CORS preflight), and a page whose DNS name was re-pointed at 127.0.0.1
(DNS rebinding) even reads the answers. So a control request is refused (403) when

* its ``Host`` is not a name of this server: a loopback name (``localhost``, ``*.localhost``,
  127.0.0.0/8, ``::1``) or the address it is bound to, with the bound port if it names a port,
  or one of ``allowed_hosts`` (``--allowed-host``, any port). Bound to every address
  (``0.0.0.0``, ``::``), the names cannot be known: any ``Host`` is taken unless
  ``allowed_hosts`` lists some, and a control token is required;
* or it carries an ``Origin`` (every browser sends one with a cross-origin request, and with any
  ``POST``) that is not the server's own: the request's scheme, ``://`` and its ``Host``. The
  dashboard, served by the server itself, calls the control API from its own origin.

A control write with a body must send it as JSON (415 otherwise): a browser can only send
``text/plain``, form or multipart bodies without a CORS preflight, which the control API never
answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from mockserver.bodies import is_json_media, media_type

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(host: str) -> str:
    """The name in a ``Host`` header value (or an origin's netloc), lower-cased, without port."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def host_port(host: str) -> int | None:
    """The port in a ``Host`` header value, or None when it names none (or no valid one)."""
    host = host.strip()
    tail = host[host.find("]") + 1 :] if host.startswith("[") else host
    _, sep, port = tail.rpartition(":")
    return int(port) if sep and port.isdigit() else None


def is_loopback(name: str) -> bool:
    """``localhost``, a ``*.localhost`` name (RFC 6761), or a loopback address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class ControlGuard:
    """Decides whether a control request comes from the developer (see the module docstring).

    ``port`` is the port the server listens on (0: unknown, any port is taken).
    """

    def __init__(self, bound_host: str, port: int, allowed_hosts: Iterable[str] = ()) -> None:
        self.port = port
        self.allowed = {host_name(h) for h in allowed_hosts if h.strip()}
        wildcard = bound_host.strip() in WILDCARD_HOSTS
        self.any_host = wildcard and not self.allowed
        self.own = set() if wildcard else {host_name(bound_host)}

    def host_allowed(self, host: str, port: int | None = None) -> bool:
        """Whether ``host`` (a ``Host`` header) names this server. A loopback name or the bound
        address must carry the bound port when it carries one; an ``--allowed-host`` name (which
        a reverse proxy may serve on another port) any port."""
        name = host_name(host)
        if self.any_host or name in self.allowed:
            return True
        if not (is_loopback(name) or name in self.own):
            return False
        given = host_port(host)
        expected = port or self.port
        return given is None or not expected or given == expected

    def refusal(
        self, host: str | None, origin: str | None, scheme: str = "http", port: int | None = None
    ) -> str | None:
        """Why this request is refused (403), or None. ``host`` and ``origin`` are the headers,
        ``scheme`` the request's (``http``/``https``), ``port`` the listening port if known."""
        if host is not None and not self.host_allowed(host, port):  # browsers always send one
            return (
                f"Host {host!r} is not a name of this server, so the request may come from a web "
                "page (DNS rebinding); call the control API at localhost or the address the "
                "server is bound to (with its port), or name the host with --allowed-host"
            )
        own = f"{scheme}://{(host or '').strip()}"
        if origin is not None and origin.strip().lower() != own.lower():
            return (
                f"Origin {origin!r} is not this server's own ({own}): the "
                "control API answers no other web page (call it from a script, a test or the "
                "server's own dashboard)"
            )
        return None


def unsupported_body(method: str, content_type: str | None, has_body: bool) -> str | None:
    """Why a control write's body is refused (415), or None: a body must be JSON."""
    if method.upper() not in WRITE_METHODS or not has_body:
        return None
    declared, _ = media_type(content_type)
    if is_json_media(declared):
        return None
    shown = repr(content_type) if content_type else "no Content-Type"
    return f"control writes take JSON bodies; got {shown}: send 'Content-Type: application/json'"

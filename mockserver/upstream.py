"""The proxy's HTTP client: one request forwarded to a real deployment of an API.

urllib3 pools connections per upstream host (never blocking: a request that finds every pooled
connection busy opens another). Every exchange has a connect and a read timeout; nothing is
retried once the request may have reached the upstream, so the client sees exactly what the
upstream answered, or an :class:`UpstreamError` says why nothing came back (refused, timed out,
TLS, dropped).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from mockserver.errors import ConfigError

# Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Host and Content-Length are the upstream connection's own; Accept-Encoding is dropped so the
# upstream answers uncompressed (the proxy reads every body to check it).
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
NOT_RELAYED = HOP_BY_HOP | {"content-length", "content-encoding"}


@dataclass(slots=True)
class UpstreamAnswer:
    """What the upstream answered: status, headers (in order, repeats kept) and the body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    url: str
    duration_ms: float

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class UpstreamError(Exception):
    """No answer came back. ``reason`` is timeout, refused, tls, dropped, dns, too-large or
    protocol; ``status`` the gateway status the proxy answers instead (504 for a timeout, else
    502)."""

    def __init__(self, reason: str, message: str, url: str, duration_ms: float) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.url = url
        self.duration_ms = duration_ms

    @property
    def status(self) -> int:
        return 504 if self.reason == "timeout" else 502


def check_base_url(api: str, url: str) -> str:
    """``url`` without a trailing slash; ConfigError unless it is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"--proxy {api}={url}: the upstream must be an http(s) URL with a host, e.g. "
            f"{api}=https://sandbox.example.com/v1"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"--proxy {api}={url}: the upstream base URL takes no query or fragment")
    return url.rstrip("/")


class Upstream:
    """Forwards requests to upstream base URLs with one shared connection pool."""

    def __init__(self, timeout_s: float, max_body_bytes: int, pool_size: int = 8) -> None:
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._pool = urllib3.PoolManager(
            num_pools=16,
            maxsize=max(1, pool_size),
            block=False,
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
            retries=False,  # the client sees what happened, once
        )

    def forward(
        self,
        base_url: str,
        method: str,
        path: str,
        query_string: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
    ) -> UpstreamAnswer:
        """Send one request to ``base_url + path`` and read the whole answer (UpstreamError when
        none comes back)."""
        url = base_url + quote(path, safe="/:@!$&'()*+,;=-._~%")
        if query_string:
            url += "?" + query_string
        outgoing = urllib3.HTTPHeaderDict()
        headers = list(headers)
        listed = {
            token.strip().lower()
            for name, value in headers
            if name.lower() == "connection"
            for token in value.split(",")
        }
        for name, value in headers:
            lowered = name.lower()
            if lowered not in NOT_FORWARDED and lowered not in listed:
                outgoing.add(name, value)
        started = time.perf_counter()
        response = None
        try:
            response = self._pool.urlopen(
                method,
                url,
                body=body,
                headers=outgoing,
                redirect=False,
                preload_content=False,
                decode_content=True,
            )
            data = response.read(self.max_body_bytes + 1, decode_content=True)
            if len(data) > self.max_body_bytes:
                response.close()  # the rest stays unread: the connection cannot be reused
                raise UpstreamError(
                    "too-large",
                    f"the upstream's answer is larger than the body limit of "
                    f"{self.max_body_bytes} bytes",
                    url,
                    _ms(started),
                )
            answer = UpstreamAnswer(
                response.status, list(response.headers.items()), data, url, _ms(started)
            )
        except HTTPError as exc:
            raise _explain(exc, url, self.timeout_s, _ms(started)) from None
        finally:
            if response is not None:
                response.release_conn()
        return answer


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _explain(exc: HTTPError, url: str, timeout_s: float, duration_ms: float) -> UpstreamError:
    """An urllib3 error as a reason and a sentence a user can act on."""
    cause: BaseException = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    host = urlsplit(url).netloc
    # NewConnectionError is a ConnectTimeoutError to urllib3: ask about it first.
    if isinstance(cause, NameResolutionError):
        reason, text = "dns", f"the upstream host {host} could not be resolved"
    elif isinstance(cause, NewConnectionError):
        reason, text = "refused", f"the upstream {host} refused the connection"
    elif isinstance(cause, SSLError):
        reason, text = "tls", f"the TLS handshake with {host} failed: {_first_line(cause)}"
    elif isinstance(cause, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
        reason, text = "timeout", f"the upstream {host} did not answer within {timeout_s:g} s"
    elif isinstance(cause, ProtocolError):
        reason, text = "dropped", f"the upstream {host} closed the connection without an answer"
    else:
        reason, text = "protocol", f"the exchange with {host} failed: {_first_line(cause)}"
    return UpstreamError(reason, text, url, duration_ms)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]

"""Recorded exchanges: written by the proxy (``--record DIR``), answered again by the replay
(``--replay DIR``).

One readable JSON file per exchange, ``DIR/<api>/<operationId>-<n>.json`` (``unmatched-<n>`` for a
path no operation documents). ``n`` counts up per operation; a name is claimed with a hard link
of a finished temporary file, so several threads or worker processes never write the same file
and no file is ever seen half-written. Credentials are masked (only a prefix such as ``sk_test_``
is kept) and volatile headers (Date, Set-Cookie, request and trace ids...) are left out.

The matching rule of the replay: the same API, method and path (after the mount), the same query
parameters with the same values (in any order; credential parameters ignored) and the same body
(the same JSON value, whatever its key order and spacing; any other body byte for byte). Headers
are not compared. Several recordings of one request answer in turn, in file-name order, and the
last one keeps answering; the count is kept in the state, so ``/__mock/reset`` starts over.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from mockserver.errors import ConfigError
from mockserver.openapi.spec import Spec

JSON = dict[str, Any]
FORMAT = 1

VOLATILE = frozenset(
    {
        "date",
        "set-cookie",
        "server",
        "age",
        "via",
        "expires",
        "etag",
        "last-modified",
        "alt-svc",
        "report-to",
        "nel",
        "traceparent",
        "tracestate",
        "user-agent",
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "x-trace-id",
        "x-runtime",
        "x-response-time",
        "cf-ray",
        "cf-cache-status",
    }
)
_VOLATILE_PREFIXES = ("x-amz", "x-ratelimit-", "x-envoy-", "x-mock-", "x-b3-")
_SECRET_NAME = re.compile(r"auth|token|secret|api[-_]?key|session|cookie|password|signature", re.I)
_PREFIX = re.compile(r"[A-Za-z]{1,8}_(?:[A-Za-z]{1,8}_)?")
_SAFE_STEM = re.compile(r"[^A-Za-z0-9_.-]+")


def mask_secret(value: str) -> str:
    """A credential without its secret part: ``sk_test_abc123`` -> ``sk_test_***``,
    ``Bearer tok_x`` -> ``Bearer tok_***``; a value without such a prefix -> ``***``."""
    scheme, sep, rest = value.strip().partition(" ")
    if sep and scheme.lower() in ("bearer", "basic", "token", "digest"):
        return f"{scheme} {mask_secret(rest)}"
    found = _PREFIX.match(value)
    prefix = found.group(0) if found and len(found.group(0)) * 2 <= len(value) else ""
    return prefix + "***"


@dataclass(frozen=True, slots=True)
class Secrets:
    """The names that carry credentials for one API: its security schemes' headers, query
    parameters and cookies, plus any name that looks like one (auth, token, key, secret...)."""

    headers: frozenset[str] = frozenset()
    query: frozenset[str] = frozenset()

    @classmethod
    def of(cls, spec: Spec | None) -> Secrets:
        headers: set[str] = {"authorization", "proxy-authorization", "cookie"}
        query: set[str] = set()
        for op in spec.operations if spec is not None else ():
            for requirement in op.security:
                for scheme in requirement:
                    if scheme.kind == "header":
                        headers.add(scheme.param.lower())
                    elif scheme.kind == "query":
                        query.add(scheme.param)
        return cls(frozenset(headers), frozenset(query))

    def header(self, name: str) -> bool:
        return name.lower() in self.headers or bool(_SECRET_NAME.search(name))

    def parameter(self, name: str) -> bool:
        return name in self.query or bool(_SECRET_NAME.search(name))


def keep_headers(headers: Iterable[tuple[str, str]], secrets: Secrets) -> dict[str, str]:
    """Headers worth recording: volatile ones and hop-by-hop ones left out, credentials masked,
    repeated headers folded with ``", "``."""
    from mockserver.upstream import NOT_FORWARDED, NOT_RELAYED

    kept: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if (
            lowered in VOLATILE
            or lowered in NOT_FORWARDED
            or lowered in NOT_RELAYED
            or lowered.startswith(_VOLATILE_PREFIXES)
        ):
            continue
        if secrets.header(name):
            value = "***" if lowered == "cookie" else mask_secret(value)
        kept[name] = f"{kept[name]}, {value}" if name in kept else value
    return kept


def mask_query(query_string: str, secrets: Secrets) -> str:
    """The query string with credential parameters masked."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if not any(secrets.parameter(k) for k, _ in pairs):
        return query_string
    return urlencode([(k, mask_secret(v) if secrets.parameter(k) else v) for k, v in pairs])


@dataclass(slots=True)
class Recording:
    """One exchange: the request (path relative to the API's base URL) and the answer."""

    api: str
    operation_id: str | None
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    upstream: str = ""
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    duration_ms: float = 0.0
    findings: list[JSON] = field(default_factory=list)
    file: str = ""  # the name under the recordings folder, once written or loaded

    @property
    def content_type(self) -> str | None:
        return next(
            (v for k, v in self.response_headers.items() if k.lower() == "content-type"), None
        )

    def to_document(self) -> JSON:
        request: JSON = {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.request_headers,
        }
        request.update(_encode_body(self.request_body))
        response: JSON = {"status": self.status, "headers": self.response_headers}
        response.update(_encode_body(self.response_body))
        return {
            "mockserver_recording": FORMAT,
            "api": self.api,
            "operation_id": self.operation_id,
            "recorded_at": self.recorded_at,
            "upstream": self.upstream,
            "duration_ms": self.duration_ms,
            "request": request,
            "response": response,
            "violations": self.findings,
        }

    @classmethod
    def from_document(cls, data: Any, file: str) -> Recording:
        """A recording read back; ConfigError names the file and what is wrong."""
        try:
            if not isinstance(data, dict) or data.get("mockserver_recording") != FORMAT:
                raise ValueError(f"not a mockserver recording (format {FORMAT})")
            request, response = data["request"], data["response"]
            return cls(
                api=str(data["api"]),
                operation_id=data.get("operation_id"),
                method=str(request["method"]).upper(),
                path=str(request["path"]),
                query=str(request.get("query") or ""),
                request_headers={str(k): str(v) for k, v in request.get("headers", {}).items()},
                request_body=_decode_body(request),
                status=int(response["status"]),
                response_headers={str(k): str(v) for k, v in response.get("headers", {}).items()},
                response_body=_decode_body(response),
                upstream=str(data.get("upstream") or ""),
                recorded_at=str(data.get("recorded_at") or ""),
                duration_ms=float(data.get("duration_ms") or 0),
                findings=list(data.get("violations") or []),
                file=file,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"recording {file}: {exc}") from None


def _encode_body(raw: bytes) -> JSON:
    if not raw:
        return {}
    try:
        return {"body": orjson.loads(raw)}
    except orjson.JSONDecodeError:
        pass
    try:
        return {"body_text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(raw).decode("ascii")}


def _decode_body(part: JSON) -> bytes:
    if "body" in part:
        return orjson.dumps(part["body"])
    if "body_text" in part:
        return str(part["body_text"]).encode("utf-8")
    if "body_base64" in part:
        return base64.b64decode(part["body_base64"])
    return b""


class Recorder:
    """Writes recordings under one folder; safe across threads and worker processes."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._next: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def write(self, recording: Recording) -> str:
        """Write ``recording``; returns its name relative to the folder (``api/op-0001.json``)."""
        folder = self.root / _SAFE_STEM.sub("_", recording.api)
        folder.mkdir(parents=True, exist_ok=True)
        stem = _SAFE_STEM.sub("_", recording.operation_id or "unmatched")
        data = orjson.dumps(recording.to_document(), option=orjson.OPT_INDENT_2) + b"\n"
        temporary = folder / f".{stem}-{uuid.uuid4().hex}.tmp"
        temporary.write_bytes(data)
        key = (folder.name, stem)
        try:
            with self._lock:
                number = self._next.get(key) or _highest(folder, stem) + 1
            while True:
                target = folder / f"{stem}-{number:04d}.json"
                try:
                    os.link(temporary, target)
                    break
                except FileExistsError:
                    number += 1
            with self._lock:
                self._next[key] = max(self._next.get(key, 0), number + 1)
        finally:
            temporary.unlink(missing_ok=True)
        recording.file = f"{folder.name}/{target.name}"
        return recording.file


def _highest(folder: Path, stem: str) -> int:
    pattern = re.compile(re.escape(stem) + r"-(\d+)\.json$")
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return max(numbers, default=0)


def load_recordings(root: str | Path) -> list[Recording]:
    """Every recording under ``root`` (in file-name order); ConfigError names a broken file."""
    folder = Path(root)
    if not folder.is_dir():
        raise ConfigError(f"recordings folder {str(root)!r} does not exist; record into it first")
    found = []
    for path in sorted(folder.rglob("*.json")):
        name = path.relative_to(folder).as_posix()
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"recording {name}: cannot be read: {exc}") from None
        found.append(Recording.from_document(data, name))
    return found


def canonical_query(query_string: str, secrets: Secrets) -> str:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(sorted((k, v) for k, v in pairs if not secrets.parameter(k)))


def canonical_body(raw: bytes) -> bytes:
    if not raw.strip():
        return b""
    try:
        return orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        return raw


class Replayer:
    """Finds the recording that answers a request (the matching rule is the module's)."""

    def __init__(self, recordings: Iterable[Recording], secrets: Mapping[str, Secrets]) -> None:
        self.secrets = dict(secrets)
        self.index: dict[str, list[Recording]] = {}
        for recording in recordings:
            key = self.key(
                recording.api,
                recording.method,
                recording.path,
                recording.query,
                recording.request_body,
            )
            self.index.setdefault(key, []).append(recording)

    def key(self, api: str, method: str, path: str, query: str, body: bytes) -> str:
        secrets = self.secrets.get(api) or Secrets.of(None)
        parts = [
            api.encode(),
            method.upper().encode(),
            path.encode(),
            canonical_query(query, secrets).encode(),
            canonical_body(body),
        ]
        return hashlib.sha256(b"\0".join(parts)).hexdigest()

    def match(
        self,
        api: str,
        method: str,
        path: str,
        query: str,
        body: bytes,
        counter: Callable[[str], int],
    ) -> Recording | None:
        """The recording that answers this request, or None. ``counter(key)`` counts the
        requests with this key so far, this one included (several recordings answer in turn)."""
        key = self.key(api, method, path, query, body)
        candidates = self.index.get(key)
        if not candidates:
            return None
        turn = counter(key) if len(candidates) > 1 else 1
        return candidates[min(turn, len(candidates)) - 1]

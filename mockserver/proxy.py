"""The relay step of the pipeline: answer from a recording, or forward to the real API, and say
where the exchange breaks the spec.

It runs after validation (the engine calls :meth:`Relay.answer`), for APIs served with
``--proxy API=URL`` or answered from ``--replay DIR``:

* The request was checked as usual. Its violations do not refuse it: they are noted as
  ``request`` findings and the request goes on (strict mode refuses it as the mock would).
  Injected faults, rate-limit emulation, bodies over the size limit and bodies that cannot be read
  are still answered by the mock.
* A recording that matches the request answers it (the matching rule is in
  :mod:`mockserver.recording`); otherwise, when the API is proxied, the request is forwarded with
  its headers (hop-by-hop ones left out) and body, and the upstream's answer comes back unchanged.
  Without a match and without a proxy, the mock answers as usual.
* The answer (recorded or live) is checked against the spec: status documented, content type,
  required headers, body schema. Findings of both sides go into the journal entry (``drift``),
  the ``X-Mock-Violations`` header (ASCII-only JSON) and the log; strict mode answers 502 instead.
* When the upstream gives no answer the mock answers as a gateway does, in the API's envelope:
  504 for a timeout, 502 otherwise (refused, TLS, dropped, DNS), with ``X-Mock-Upstream-Error``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from mockserver.drift import check_response, header_value, request_findings
from mockserver.envelopes import Failure
from mockserver.errors import ConfigError
from mockserver.journal import Finding, JournalEntry, UpstreamCall
from mockserver.messages import RequestData, ResponseData
from mockserver.openapi.spec import Spec
from mockserver.recording import (
    Recorder,
    Recording,
    Replayer,
    Secrets,
    keep_headers,
    load_recordings,
    mask_query,
)
from mockserver.upstream import (
    NOT_RELAYED,
    Upstream,
    UpstreamAnswer,
    UpstreamError,
    check_base_url,
)
from mockserver.validation import Violation

if TYPE_CHECKING:
    from mockserver.config import Settings
    from mockserver.engine import CompiledOperation, MountedApi
    from mockserver.store import State

log = logging.getLogger("mockserver.proxy")

# Refusals that are the spec's (noted, then relayed), and where each points in the request.
RELAYED = {
    "unknown-path": "path",
    "method-not-allowed": "method",
    "unauthorized": "security",
    "unsupported-media-type": "header",
    "malformed": "body",
    "validation": "body",
}
VIOLATIONS_HEADER = "X-Mock-Violations"
RECORDING_HEADER = "X-Mock-Recording"
UPSTREAM_ERROR_HEADER = "X-Mock-Upstream-Error"


def check_settings(settings: Settings, specs: list[Spec]) -> None:
    """Fail start-up early (before workers fork) on a proxy, record or replay setting that
    cannot work: an unknown API, a URL that is not http(s), a broken recording."""
    names = {spec.name for spec in specs}
    for api, url in settings.proxy.items():
        if api not in names:
            raise ConfigError(
                f"--proxy {api}=...: no API {api!r} is mounted; mounted: {', '.join(sorted(names))}"
            )
        check_base_url(api, url)
    if settings.record_dir and not settings.proxy:
        raise ConfigError("--record writes what the proxy forwards; add --proxy API=URL")
    if settings.replay_dir:
        load_recordings(settings.replay_dir)
    if settings.proxy_timeout_s <= 0:
        raise ConfigError(f"proxy_timeout_s={settings.proxy_timeout_s}: must be positive")


class _KeptBody:
    """A request body read once and handed out again (the engine parses it, the relay forwards
    the same bytes). A failed read fails again the same way."""

    __slots__ = ("_data", "_error", "_read")

    def __init__(self, read: Any) -> None:
        self._read = read
        self._data: bytes | None = None
        self._error: Exception | None = None

    def __call__(self, limit: int) -> bytes:
        if self._data is None and self._error is None:
            try:
                self._data = self._read(limit)
            except Exception as exc:
                self._error = exc
        if self._error is not None:
            raise self._error
        assert self._data is not None
        return self._data


class Relay:
    """Replay and proxy for the APIs that have them (built by the engine, one per process)."""

    def __init__(
        self,
        settings: Settings,
        state: State,
        upstreams: Mapping[str, str],
        replayer: Replayer | None,
        recorder: Recorder | None,
        secrets: Mapping[str, Secrets],
    ) -> None:
        self.settings = settings
        self.state = state
        self.upstreams = dict(upstreams)
        self.replayer = replayer
        self.recorder = recorder
        self.secrets = dict(secrets)
        self.client = Upstream(settings.proxy_timeout_s, settings.max_body_bytes, settings.threads)

    @classmethod
    def build(cls, settings: Settings, specs: list[Spec], state: State) -> Relay | None:
        """The relay the settings ask for, or None (no ``proxy``, no ``replay_dir``)."""
        if not settings.proxy and not settings.replay_dir:
            return None
        check_settings(settings, specs)
        secrets = {spec.name: Secrets.of(spec) for spec in specs}
        upstreams = {api: check_base_url(api, url) for api, url in settings.proxy.items()}
        replayer = (
            Replayer(load_recordings(settings.replay_dir), secrets) if settings.replay_dir else None
        )
        recorder = Recorder(settings.record_dir) if settings.record_dir else None
        return cls(settings, state, upstreams, replayer, recorder, secrets)

    def keep_body(self, request: RequestData) -> None:
        """Make the request's body readable twice (called before the engine reads it)."""
        request.read_body = _KeptBody(request.read_body)

    # -- the step -----------------------------------------------------------------------------
    def answer(
        self,
        api: MountedApi,
        compiled: CompiledOperation | None,
        request: RequestData,
        entry: JournalEntry,
        refusal: Failure | None,
    ) -> ResponseData | None:
        """The relayed answer, or None when the mock should answer (or refuse) as usual."""
        name = api.spec.name
        proxied = name in self.upstreams
        if not proxied and self.replayer is None:
            return None
        if refusal is not None and (refusal.kind not in RELAYED or self.settings.proxy_strict):
            return None
        raw = self._body(request)
        if raw is None:
            return None
        problems: list[Violation] = []
        if refusal is not None:
            problems = list(refusal.violations) or [
                Violation(RELAYED[refusal.kind], _where(refusal.kind), refusal.message)
            ]
        relative = request.path[len(api.mount) :] or "/"
        recording = None
        if self.replayer is not None:
            recording = self.replayer.match(
                name, request.method, relative, request.query_string, raw, self._count
            )
        if recording is None and not proxied:
            return None

        if problems:
            entry.violations = problems
        findings = request_findings(problems)
        if recording is not None:
            answer = UpstreamAnswer(
                recording.status,
                list(recording.response_headers.items()),
                recording.response_body,
                recording.upstream,
                0.0,
            )
            entry.replayed = recording.file
            entry.notes.append(f"answered by the recording {recording.file}")
        else:
            try:
                answer = self._forward(name, request, relative, raw)
            except UpstreamError as exc:
                return self._gateway(api, compiled, request, entry, exc, findings)
            entry.upstream = UpstreamCall(answer.url, answer.status, answer.duration_ms)
            entry.notes.append(f"forwarded to {answer.url}")

        head = request.method.upper() == "HEAD"
        content_type = answer.header("Content-Type")
        findings += check_response(
            api, compiled, answer.status, content_type, answer.header, answer.body, head=head
        )
        if findings:
            entry.drift = findings
            self._log(api, compiled, request, answer.status, findings, recording)
        if recording is None and self.recorder is not None:
            entry.recorded = self._record(api, compiled, request, relative, raw, answer, findings)
        if self.settings.proxy_strict and findings:
            return self._strict(api, answer.status, findings)
        headers = _relayed_headers(answer.headers)
        if findings:
            headers[VIOLATIONS_HEADER] = header_value(findings)
        if recording is not None:
            headers[RECORDING_HEADER] = recording.file
        return ResponseData(answer.status, answer.body, content_type, headers)

    # -- helpers ------------------------------------------------------------------------------
    def _body(self, request: RequestData) -> bytes | None:
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        try:
            raw = request.read_within(limit)
        except Exception:
            return None  # unreadable: the mock answers 400 itself
        return None if len(raw) > limit else raw

    def _forward(
        self, name: str, request: RequestData, relative: str, raw: bytes
    ) -> UpstreamAnswer:
        no_body = not raw and request.method.upper() in ("GET", "HEAD")
        return self.client.forward(
            self.upstreams[name],
            request.method,
            relative,
            request.query_string,
            request.headers.items(),
            None if no_body else raw,
        )

    def _count(self, key: str) -> int:
        # An atomic counter shared by every worker (the state's rate-limit counter, in a window
        # that never ends); reset with the rest of the state.
        return self.state.rate_limits.hit(f"replay:{key}", 1.0, 0.0)

    def _gateway(
        self,
        api: MountedApi,
        compiled: CompiledOperation | None,
        request: RequestData,
        entry: JournalEntry,
        error: UpstreamError,
        findings: list[Finding],
    ) -> ResponseData:
        entry.upstream = UpstreamCall(
            error.url, duration_ms=error.duration_ms, error=error.reason, message=error.message
        )
        entry.drift = findings
        op = compiled.operation.operation_id if compiled is not None else "-"
        log.warning(
            "%s %s %s (%s) -> %d: %s", api.spec.name, request.method, request.path, op,
            error.status, error.message,
        )  # fmt: skip
        failure = Failure(
            "upstream-timeout" if error.status == 504 else "upstream-unavailable",
            error.status,
            f"Proxy: {error.message} ({error.url})",
        )
        body, content_type = api.render(failure)
        headers = {UPSTREAM_ERROR_HEADER: error.reason}
        if findings:
            headers[VIOLATIONS_HEADER] = header_value(findings)
        return ResponseData(error.status, orjson.dumps(body), content_type, headers)

    def _strict(self, api: MountedApi, status: int, findings: list[Finding]) -> ResponseData:
        listed = "; ".join(f.message for f in findings[:5])
        more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
        failure = Failure(
            "upstream-drift",
            502,
            f"Proxy (strict): the upstream answered {status}, which breaks the spec: "
            f"{listed}{more}",
        )
        body, content_type = api.render(failure)
        headers = {UPSTREAM_ERROR_HEADER: "drift", VIOLATIONS_HEADER: header_value(findings)}
        return ResponseData(502, orjson.dumps(body), content_type, headers)

    def _log(
        self,
        api: MountedApi,
        compiled: CompiledOperation | None,
        request: RequestData,
        status: int,
        findings: list[Finding],
        recording: Recording | None,
    ) -> None:
        source = f"recording {recording.file}" if recording is not None else "upstream"
        op = compiled.operation.operation_id if compiled is not None else "-"
        log.warning(
            "%s %s %s (%s): %s answered %d; %d violation(s): %s",
            api.spec.name,
            request.method,
            request.path,
            op,
            source,
            status,
            len(findings),
            "; ".join(f.message for f in findings[:10]),
        )

    def _record(
        self,
        api: MountedApi,
        compiled: CompiledOperation | None,
        request: RequestData,
        relative: str,
        raw: bytes,
        answer: UpstreamAnswer,
        findings: list[Finding],
    ) -> str | None:
        assert self.recorder is not None
        secrets = self.secrets.get(api.spec.name) or Secrets.of(None)
        recording = Recording(
            api=api.spec.name,
            operation_id=compiled.operation.operation_id if compiled is not None else None,
            method=request.method.upper(),
            path=relative,
            query=mask_query(request.query_string, secrets),
            request_headers=keep_headers(request.headers.items(), secrets),
            request_body=raw,
            status=answer.status,
            response_headers=keep_headers(answer.headers, secrets),
            response_body=answer.body,
            upstream=self.upstreams[api.spec.name],
            duration_ms=answer.duration_ms,
            findings=[f.as_dict() for f in findings],
        )
        try:
            return self.recorder.write(recording)
        except OSError as exc:  # a full disk must not fail the client's request
            log.error("could not write a recording to %s: %s", self.recorder.root, exc)
            return None


def _relayed_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The upstream's headers for the client: one line a name (repeats folded with ", ", as
    HTTP allows; ``Set-Cookie`` cannot be folded and keeps its first value), without hop-by-hop
    headers, Content-Length, Content-Encoding and Content-Type (sent apart)."""
    relayed: dict[str, str] = {}
    names: dict[str, str] = {}  # lower-cased name -> the spelling kept
    for name, value in headers:
        lowered = name.lower()
        if lowered in NOT_RELAYED or lowered == "content-type":
            continue
        if lowered not in names:
            names[lowered] = name
            relayed[name] = value
        elif lowered != "set-cookie":
            relayed[names[lowered]] += f", {value}"
    return relayed


def _where(kind: str) -> tuple[str | int, ...]:
    return ("Content-Type",) if kind == "unsupported-media-type" else ()

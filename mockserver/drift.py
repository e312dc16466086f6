"""Where an API and its spec part ways: findings on either side of one exchange, and the report.

A :class:`Finding` says which side broke the spec (the ``request`` the client sent, or the
``response`` the API answered), where (``status``, a header, the body), the JSON path
(``data[0].email``) and the problem. The proxy and the replay attach them to journal entries;
:func:`summarise` folds entries into a :class:`DriftReport`, by operation and path (array indexes
folded into ``[*]``), with a count and one sample each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from mockserver.bodies import is_json_media, media_type
from mockserver.journal import Finding, JournalEntry
from mockserver.validation import Violation

if TYPE_CHECKING:
    from mockserver.engine import CompiledOperation, MountedApi
    from mockserver.recording import Recording

JSON = dict[str, Any]
HEADER_LIMIT = 20  # findings named in the X-Mock-Violations header
_INDEX = re.compile(r"\[\d+\]")


def request_findings(violations: Iterable[Violation]) -> list[Finding]:
    """The engine's request violations as findings."""
    return [Finding("request", v.location, v.field, v.problem) for v in violations]


def check_response(
    api: MountedApi,
    compiled: CompiledOperation | None,
    status: int,
    content_type: str | None,
    header: Callable[[str], str | None],
    body: bytes,
    *,
    head: bool = False,
) -> list[Finding]:
    """Check one answer against what the operation documents: the status, the content type,
    required headers, and the body against its schema (``head``: a HEAD answer has no body)."""
    if compiled is None:
        return []  # the request matched no operation: there is nothing documented to check
    op = compiled.operation
    definition = op.response_for(status)
    if definition is None:
        documented = ", ".join(op.documented_statuses()) or "none"
        return [
            Finding(
                "response",
                "status",
                "status",
                f"{status} is not documented for {op.operation_id} (documented: {documented})",
            )
        ]
    found: list[Finding] = []
    for name, spec in definition.headers.items():
        if spec.get("required") and header(name) is None:
            found.append(Finding("response", "header", name, "required header is missing"))
    media, _ = media_type(content_type)
    if not definition.content:
        if body and not head:
            found.append(
                Finding(
                    "response",
                    "body",
                    "body",
                    f"a body of {len(body)} bytes, but {status} documents no content",
                )
            )
        return found
    if media not in definition.content:
        documented = ", ".join(definition.content)
        shown = media or "none"
        found.append(
            Finding(
                "response",
                "header",
                "Content-Type",
                f"{shown} is not documented for {status} (documented: {documented})",
            )
        )
        return found
    if head or not is_json_media(media):
        return found
    if not body.strip():
        found.append(Finding("response", "body", "body", f"empty, but {status} documents {media}"))
        return found
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        found.append(Finding("response", "body", "body", f"not valid JSON: {exc}"))
        return found
    validator = api.response_validator(compiled, status, media)
    if validator is not None:
        found.extend(
            Finding("response", v.location, v.field, v.problem)
            for v in validator.violations(value, "body")
        )
    return found


def header_value(findings: Sequence[Finding]) -> str:
    """The ``X-Mock-Violations`` header: a JSON array, ASCII only (non-ASCII escaped as
    ``\\uXXXX``, so no client or proxy chokes on the header), at most :data:`HEADER_LIMIT`
    findings with problems cut at 200 characters."""
    shown: list[dict[str, Any]] = [
        {"side": f.side, "field": f.field, "problem": _cut(f.problem, 200)}
        for f in findings[:HEADER_LIMIT]
    ]
    if len(findings) > HEADER_LIMIT:
        shown.append({"more": len(findings) - HEADER_LIMIT})
    return json.dumps(shown, ensure_ascii=True, separators=(",", ":"))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the report --------------------------------------------------------------------------------


@dataclass(slots=True)
class DriftItem:
    """One operation and path where the API and its spec disagree, how often, and one sample."""

    api: str
    operation_id: str
    side: str
    location: str
    field: str
    count: int
    sample: JSON

    def as_dict(self) -> JSON:
        return {
            "api": self.api,
            "operation_id": self.operation_id,
            "side": self.side,
            "location": self.location,
            "field": self.field,
            "count": self.count,
            "sample": self.sample,
        }


@dataclass(slots=True)
class DriftReport:
    """Violations seen over a set of exchanges, by operation and JSON path."""

    exchanges: int = 0
    with_drift: int = 0
    upstream_errors: int = 0
    items: list[DriftItem] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.items)

    def as_dict(self) -> JSON:
        return {
            "drift": self.drift,
            "exchanges": self.exchanges,
            "exchanges_with_drift": self.with_drift,
            "upstream_errors": self.upstream_errors,
            "findings": [item.as_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, data: JSON) -> DriftReport:
        return cls(
            exchanges=int(data.get("exchanges", 0)),
            with_drift=int(data.get("exchanges_with_drift", 0)),
            upstream_errors=int(data.get("upstream_errors", 0)),
            items=[
                DriftItem(
                    str(i["api"]),
                    str(i["operation_id"]),
                    str(i["side"]),
                    str(i["location"]),
                    str(i["field"]),
                    int(i["count"]),
                    dict(i["sample"]),
                )
                for i in data.get("findings", [])
            ],
        )

    def render(self) -> str:
        """The report as text for people: one block per operation, one line per path."""
        head = (
            f"{self.exchanges} exchange(s) checked, {self.with_drift} with drift, "
            f"{self.upstream_errors} without an upstream answer"
        )
        if not self.items:
            return f"no drift: {head}\n"
        lines = [f"drift: {head}"]
        current = None
        for item in self.items:
            if (item.api, item.operation_id) != current:
                current = (item.api, item.operation_id)
                lines.append(f"{item.api} {item.operation_id}")
            sample = item.sample
            where = f"{sample.get('method', '')} {sample.get('path', '')}".strip()
            status = sample.get("status")
            source = f" -> {status}" if status is not None else ""
            origin = (
                sample.get("recording")
                or sample.get("replayed")
                or (f"seq {sample['seq']}" if "seq" in sample else "")
            )
            lines.append(
                f"  {item.side} {item.field}  x{item.count}  e.g. {sample.get('problem')}"
                f"  ({where}{source}{', ' + origin if origin else ''})"
            )
        return "\n".join(lines) + "\n"


def summarise(entries: Iterable[JournalEntry]) -> DriftReport:
    """Fold journal entries (or entries rebuilt from recordings) into a report.

    Only exchanges the proxy forwarded or a recording answered count; each entry's ``drift``
    findings are grouped by API, operation, side, location and path, array indexes folded.
    """
    report = DriftReport()
    groups: dict[tuple[str, str, str, str, str], DriftItem] = {}
    for entry in entries:
        if not entry.forwarded:
            continue
        if entry.upstream is not None and entry.upstream.error:
            report.upstream_errors += 1
            continue
        report.exchanges += 1
        if entry.drift:
            report.with_drift += 1
        for finding in entry.drift:
            path = _INDEX.sub("[*]", finding.field)
            key = (
                entry.api,
                entry.operation_id or "-",
                finding.side,
                finding.location,
                path,
            )
            item = groups.get(key)
            if item is None:
                sample: JSON = {
                    "problem": finding.problem,
                    "field": finding.field,
                    "method": entry.method,
                    "path": entry.path,
                    "status": entry.status,
                }
                if entry.seq is not None:
                    sample["seq"] = entry.seq
                if entry.replayed is not None:
                    sample["replayed"] = entry.replayed
                if entry.recording is not None:
                    sample["recording"] = entry.recording
                groups[key] = item = DriftItem(*key, count=0, sample=sample)
            item.count += 1
    report.items = sorted(groups.values(), key=lambda i: (i.api, i.operation_id, i.side, i.field))
    return report


# -- recordings, checked again --------------------------------------------------------------


class _Query:
    """Parsed query parameters with the ``getlist`` the parameter reader asks for."""

    def __init__(self, query_string: str) -> None:
        from urllib.parse import parse_qsl

        self._pairs = parse_qsl(query_string, keep_blank_values=True)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._pairs if k == key]


class _Headers(dict[str, str]):
    """Recorded headers, looked up case-insensitively."""

    def get(self, key: str, default: Any = None) -> Any:
        lowered = key.lower()
        return next((v for k, v in self.items() if k.lower() == lowered), default)


def check_recordings(
    apis: Mapping[str, MountedApi], recordings: Iterable[Recording]
) -> list[JournalEntry]:
    """Each recording checked against the specs as they are now, as a journal entry (with its
    ``recording``, ``drift`` and the operation it matched) for :func:`summarise`. A recording of
    an API no spec serves is one finding."""
    from mockserver.validation import read_parameters

    entries: list[JournalEntry] = []
    for recording in recordings:
        entry = JournalEntry(
            _timestamp(recording.recorded_at),
            recording.api,
            recording.method,
            recording.path,
            recording.query,
            status=recording.status,
            duration_ms=recording.duration_ms,
            recording=recording.file,
        )
        entries.append(entry)
        api = apis.get(recording.api)
        if api is None:
            entry.operation_id = recording.operation_id
            entry.drift = [
                Finding("request", "path", "path", f"no spec serves the API {recording.api!r}")
            ]
            continue
        entry.path = api.mount + recording.path
        found: list[Finding] = []
        match = api.router.match(recording.method, recording.path)
        compiled = None
        if match.operation is None:
            found.append(
                Finding(
                    "request",
                    "path",
                    "path",
                    f"No operation matches {recording.method} {recording.path} in {recording.api}",
                )
            )
        else:
            compiled = api.compiled[match.operation.operation_id]
            entry.operation_id = match.operation.operation_id
            headers = _Headers(recording.request_headers)
            _, violations = read_parameters(
                compiled.parameters, match.path_params, _Query(recording.query), headers, {}
            )
            found.extend(request_findings(violations))
            found.extend(_request_body(compiled, recording.request_body))
        found.extend(
            check_response(
                api,
                compiled,
                recording.status,
                recording.content_type,
                _Headers(recording.response_headers).get,
                recording.response_body,
                head=recording.method == "HEAD",
            )
        )
        entry.drift = found
    return entries


def _timestamp(iso: str) -> float:
    """A recording's ``recorded_at`` in unix seconds (0 when it cannot be read)."""
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def _request_body(compiled: CompiledOperation, raw: bytes) -> list[Finding]:
    op = compiled.operation
    if not raw.strip():
        if op.body_required:
            return [Finding("request", "body", "body", "a request body is required")]
        return []
    if compiled.body_validator is None:
        return []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [Finding("request", "body", "body", f"not valid JSON: {exc}")]
    return request_findings(compiled.body_validator.violations(value))

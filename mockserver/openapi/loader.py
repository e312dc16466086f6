"""Load an OpenAPI 3.x document from YAML or JSON into a :class:`Spec`.

Local ``$ref``s inside schemas are kept (validators resolve them against the document's
``components``); ``$ref``s to other files are inlined at load time, and referenced parameters,
request bodies, responses and examples are resolved. OpenAPI 3.0 schemas are rewritten to the JSON
Schema 2020-12 dialect of 3.1 (``nullable``, boolean ``exclusiveMinimum``), so one validator serves
both. Every problem is raised as :class:`SpecError` naming the file, the JSON pointer and the fix.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from mockserver.errors import SpecError
from mockserver.openapi.spec import (
    ApiSettings,
    MediaType,
    Operation,
    Parameter,
    RateLimit,
    ResponseDef,
    SecurityScheme,
    Spec,
)

JSON = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

try:  # the C loader is several times faster; fall back when libyaml is missing
    _SafeLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _SafeLoader = yaml.SafeLoader


class _YamlLoader(_SafeLoader):  # type: ignore[misc]
    """YAML as an OpenAPI document means it (YAML 1.2, JSON values only), not as PyYAML's YAML 1.1.

    * An unquoted ``2023-12-17`` or ``2023-12-17T10:59:04+01:00`` (common in examples) stays the
      string it was written as; PyYAML makes a ``date``/``datetime``, which no JSON Schema
      validator or serialiser takes.
    * Only ``true``/``false`` are booleans: ``enum: [yes, no]`` or a country code ``NO`` stays a
      string (YAML 1.1 reads yes/no/on/off as booleans).
    * ``10:30`` is a string, not the base-60 number 630.
    """


# PyYAML's own patterns for these tags, less YAML 1.1's extras (yes/no/on/off, base 60).
_YAML_12_PATTERNS = {
    "tag:yaml.org,2002:bool": re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    "tag:yaml.org,2002:int": re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    "tag:yaml.org,2002:float": re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
}


def _yaml_12_scalars() -> None:
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in _SafeLoader.yaml_implicit_resolvers.items():
        kept = [
            (tag, _YAML_12_PATTERNS.get(tag, pattern))
            for tag, pattern in entries
            if tag != "tag:yaml.org,2002:bool" or (first is not None and first in "tTfF")
        ]
        resolvers[first] = kept
    _YamlLoader.yaml_implicit_resolvers = resolvers
    _YamlLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
    )


_yaml_12_scalars()


def bundled_spec_dir() -> Path:
    """The folder holding the specs shipped with mockserver (installed wheel or source checkout)."""
    packaged = Path(str(resources.files("mockserver"))) / "_bundled" / "specs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "specs"


def bundled_spec_paths() -> list[Path]:
    """Every bundled spec file, sorted by name."""
    folder = bundled_spec_dir()
    return sorted(p for p in folder.glob("*.y*ml")) + sorted(folder.glob("*.json"))


def read_document(path: Path) -> JSON:
    """Parse a YAML or JSON file into a dict, or raise SpecError saying why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            str(path), "/", f"cannot read the file ({exc.strerror}); check the path"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "/", "the file is not UTF-8 text") from exc
    try:
        document = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(str(path), "/", f"not valid YAML or JSON{where}: {exc}") from exc
    if not isinstance(document, dict):
        raise SpecError(str(path), "/", "the document must be a mapping with 'openapi' and 'paths'")
    return document


def load_spec(path: str | Path, *, name: str | None = None) -> Spec:
    """Load one OpenAPI document and build its operations.

    ``name`` overrides the mount name (else ``x-mock.name``, else the file name's stem).
    """
    path = Path(path)
    document = read_document(path)
    file = str(path)
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise SpecError(file, "/openapi", f"expected an OpenAPI 3.x document, found {version!r}")
    document = _inline_external_refs(document, path, file, set())
    if version.startswith("3.0"):
        document = _upgrade_30_schemas(document)
    settings = _settings(document, file, name or path.stem)
    base_path = _base_path(document)
    schemes = _security_schemes(document, file)
    operations = list(_operations(document, file, settings.name, schemes))
    info = document.get("info") or {}
    return Spec(
        file=file,
        document=document,
        settings=settings,
        title=str(info.get("title", settings.name)),
        version=str(info.get("version", "")),
        base_path=base_path,
        operations=operations,
    )


# -- $ref handling --------------------------------------------------------------------------


def pointer_get(document: Any, pointer: str, file: str, at: str) -> Any:
    """Follow a JSON pointer (``/components/schemas/X``) or raise SpecError naming ``at``."""
    node = document
    for raw in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SpecError(file, at, f"$ref '#{pointer}' points at nothing; fix the reference")
    return node


def resolve(node: Any, document: JSON, file: str, at: str) -> Any:
    """Return ``node`` with a local ``$ref`` at its top followed (repeatedly, cycle-guarded)."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise SpecError(file, at, f"unresolved external $ref {ref!r}")
        if ref in seen:
            raise SpecError(file, at, f"$ref cycle through {ref!r}")
        seen.add(ref)
        node = pointer_get(document, ref[1:], file, at)
    return node


def _inline_external_refs(node: Any, base: Path, file: str, stack: set[str], at: str = "") -> Any:
    """Replace every ``$ref`` to another file by that file's (recursively inlined) content.

    ``at`` is the JSON pointer of ``node`` in ``file``, so a broken reference is reported where
    it is written.
    """
    if isinstance(node, list):
        return [
            _inline_external_refs(item, base, file, stack, f"{at}/{i}")
            for i, item in enumerate(node)
        ]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        where = f"{at}/$ref"
        parsed = urlparse(ref)
        if parsed.scheme in ("http", "https"):
            raise SpecError(
                file, where, f"remote $ref {ref!r} is not fetched; save it beside the spec"
            )
        target_path = (base.parent / unquote(parsed.path)).resolve()
        key = f"{target_path}#{parsed.fragment}"
        if key in stack:
            raise SpecError(file, where, f"$ref cycle through {ref!r}")
        try:
            target_doc = read_document(target_path)
        except SpecError as exc:
            raise SpecError(file, where, f"$ref {ref!r}: {target_path}: {exc.problem}") from None
        try:
            fragment = parsed.fragment or "/"
            target = pointer_get(target_doc, parsed.fragment, str(target_path), fragment)
        except SpecError:
            raise SpecError(
                file,
                where,
                f"$ref {ref!r}: {target_path} has nothing at "
                f"'#{parsed.fragment}'; fix the reference",
            ) from None
        target = _inline_local_refs(target, target_doc, str(target_path), 0)
        return _inline_external_refs(
            target, target_path, str(target_path), stack | {key}, parsed.fragment
        )
    return {
        k: _inline_external_refs(v, base, file, stack, f"{at}/{_escape(str(k))}")
        for k, v in node.items()
    }


def _inline_local_refs(node: Any, document: JSON, file: str, depth: int) -> Any:
    """Inline local refs of a fragment taken from another file (their '#' means that file)."""
    if depth > 64:
        raise SpecError(file, "/", "$ref nesting deeper than 64 levels (a recursive schema?)")
    if isinstance(node, list):
        return [_inline_local_refs(item, document, file, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        target = pointer_get(document, node["$ref"][1:], file, node["$ref"])
        return _inline_local_refs(target, document, file, depth + 1)
    return {k: _inline_local_refs(v, document, file, depth) for k, v in node.items()}


def _upgrade_30_schemas(document: JSON) -> JSON:
    """Rewrite OpenAPI 3.0 schema keywords into their JSON Schema 2020-12 form."""
    document = copy.deepcopy(document)

    def fix(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                fix(item)
            return
        if not isinstance(node, dict):
            return
        if node.pop("nullable", False) is True:
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            elif "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            elif "type" not in node:
                any_of = node.pop("anyOf", None) or [{k: node.pop(k) for k in list(node)}]
                node["anyOf"] = [*any_of, {"type": "null"}]
        for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if node.get(bound) is True and limit in node:
                node[bound] = node.pop(limit)
            elif node.get(bound) is False:
                node.pop(bound)
        for value in node.values():
            fix(value)

    fix(document)
    return document


# -- settings, security, operations ---------------------------------------------------------


def _settings(document: JSON, file: str, default_name: str) -> ApiSettings:
    raw = document.get("x-mock") or {}
    if not isinstance(raw, dict):
        raise SpecError(file, "/x-mock", "x-mock must be a mapping (see docs/spec-conventions.md)")
    name = str(raw.get("name") or default_name).lower()
    if not _NAME_RE.match(name):
        raise SpecError(file, "/x-mock/name", f"mount name {name!r} must match {_NAME_RE.pattern}")
    if name == "__mock":
        raise SpecError(file, "/x-mock/name", "'__mock' is reserved for the control API")
    envelope = str(raw.get("envelope", "problem"))
    if envelope not in ("tamio", "bunce", "problem"):
        raise SpecError(
            file, "/x-mock/envelope", f"unknown envelope {envelope!r}; use tamio, bunce or problem"
        )
    rate = raw.get("rate-limit")
    rate_limit = None
    if isinstance(rate, dict):
        try:
            rate_limit = RateLimit(
                limit=int(rate["limit"]),
                window_s=float(rate.get("window-seconds", 1)),
                block_s=float(rate.get("block-seconds", 0)),
                scope=str(rate.get("scope", "credential")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(
                file, "/x-mock/rate-limit", f"needs an integer 'limit' ({exc})"
            ) from exc
    pattern = str(raw.get("credential-pattern", ".+"))
    try:
        re.compile(pattern)
    except re.error as exc:
        raise SpecError(file, "/x-mock/credential-pattern", f"not a valid regex: {exc}") from exc
    return ApiSettings(
        name=name,
        envelope=envelope,
        lenient_content_type=bool(raw.get("lenient-content-type", False)),
        validation_status=int(raw.get("validation-status", 400)),
        credential_pattern=pattern,
        error_codes={str(k): int(v) for k, v in (raw.get("error-codes") or {}).items()},
        rate_limit=rate_limit,
        conflict_status=int(raw.get("conflict-status", 409)),
        webhooks=dict(raw.get("webhooks") or {}),
    )


def _base_path(document: JSON) -> str:
    servers = document.get("servers") or [{"url": "/"}]
    url = str(servers[0].get("url", "/"))
    for var, spec in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + var + "}", str(spec.get("default", "")))
    return urlparse(url).path.rstrip("/")


def _security_schemes(document: JSON, file: str) -> dict[str, SecurityScheme]:
    schemes: dict[str, SecurityScheme] = {}
    raw = (document.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in raw.items():
        at = f"/components/securitySchemes/{name}"
        scheme = resolve(scheme, document, file, at)
        kind = scheme.get("type")
        if kind == "http":
            http = str(scheme.get("scheme", "")).lower()
            if http not in ("bearer", "basic"):
                raise SpecError(file, at, f"http scheme {http!r} is not supported (bearer, basic)")
            schemes[name] = SecurityScheme(name, http, "Authorization")
        elif kind == "apiKey":
            where = scheme.get("in")
            if where not in ("header", "query", "cookie"):
                raise SpecError(file, at, "apiKey 'in' must be header, query or cookie")
            schemes[name] = SecurityScheme(name, where, str(scheme["name"]))
        elif kind in ("oauth2", "openIdConnect"):
            schemes[name] = SecurityScheme(name, "bearer", "Authorization")
        else:
            raise SpecError(file, at, f"unknown security scheme type {kind!r}")
    return schemes


def _requirements(
    raw: Any, schemes: dict[str, SecurityScheme], file: str, at: str
) -> list[list[SecurityScheme]]:
    alternatives: list[list[SecurityScheme]] = []
    for requirement in raw or []:
        group = []
        for scheme_name in requirement:
            if scheme_name not in schemes:
                raise SpecError(file, at, f"security scheme {scheme_name!r} is not declared")
            group.append(schemes[scheme_name])
        alternatives.append(group)
    return alternatives


def _media(raw: Any, document: JSON, file: str, at: str) -> dict[str, MediaType]:
    content: dict[str, MediaType] = {}
    for media_name, media in (raw or {}).items():
        media = resolve(media, document, file, f"{at}/{media_name}")
        examples: dict[str, Any] = {}
        for ex_name, example in (media.get("examples") or {}).items():
            example = resolve(example, document, file, f"{at}/{media_name}/examples/{ex_name}")
            if "value" in example:
                examples[ex_name] = example["value"]
        if "example" in media:
            examples.setdefault("default", media["example"])
        content[media_name] = MediaType(schema=media.get("schema"), examples=examples)
    return content


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _operations(
    document: JSON, file: str, api: str, schemes: dict[str, SecurityScheme]
) -> Iterator[Operation]:
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise SpecError(file, "/paths", "the document has no 'paths' mapping")
    root_security = document.get("security")
    seen_ids: dict[str, str] = {}
    for path, item in paths.items():
        item_at = f"/paths/{_escape(path)}"
        if not path.startswith("/"):
            raise SpecError(file, item_at, "a path must start with '/'")
        item = resolve(item, document, file, item_at)
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            if method not in item:
                continue
            at = f"{item_at}/{method}"
            op = item[method]
            op_id = str(op.get("operationId") or f"{method}{path}")
            if op_id in seen_ids:
                raise SpecError(
                    file, at, f"operationId {op_id!r} already used at {seen_ids[op_id]}"
                )
            seen_ids[op_id] = at
            params: dict[tuple[str, str], Parameter] = {}
            for index, raw in enumerate([*shared, *(op.get("parameters") or [])]):
                p = resolve(raw, document, file, f"{at}/parameters/{index}")
                location = p.get("in")
                schema = p.get("schema") or {}
                params[(p["name"], location)] = Parameter(
                    name=str(p["name"]),
                    location=str(location),
                    required=bool(p.get("required", location == "path")),
                    schema=schema,
                    explode=bool(p.get("explode", p.get("style", "form") == "form")),
                    style=str(
                        p.get("style", "form" if location in ("query", "cookie") else "simple")
                    ),
                )
            for name in re.findall(r"{([^}]+)}", path):
                if (name, "path") not in params:
                    raise SpecError(file, at, f"path parameter {{{name}}} is not declared")
            body = resolve(op.get("requestBody") or {}, document, file, f"{at}/requestBody")
            responses: dict[str, ResponseDef] = {}
            for status, raw_resp in (op.get("responses") or {}).items():
                resp_at = f"{at}/responses/{status}"
                resp = resolve(raw_resp, document, file, resp_at)
                headers = {
                    h: resolve(v, document, file, f"{resp_at}/headers/{h}")
                    for h, v in (resp.get("headers") or {}).items()
                }
                responses[str(status)] = ResponseDef(
                    status=str(status),
                    description=str(resp.get("description", "")),
                    content=_media(resp.get("content"), document, file, f"{resp_at}/content"),
                    headers=headers,
                )
            if not responses:
                raise SpecError(file, f"{at}/responses", "an operation must document a response")
            security = op.get("security", root_security)
            yield Operation(
                api=api,
                operation_id=op_id,
                method=method.upper(),
                path=path,
                summary=str(op.get("summary", "")),
                parameters=list(params.values()),
                body_required=bool(body.get("required", False)),
                body_content=_media(
                    body.get("content"), document, file, f"{at}/requestBody/content"
                ),
                responses=responses,
                security=_requirements(security, schemes, file, f"{at}/security"),
                x_mock=dict(op.get("x-mock") or {}),
                pointer=at,
            )

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
from urllib.parse import unquote, urldefrag, urljoin, urlparse
from urllib.request import url2pathname

import orjson
import referencing.exceptions
import yaml
from referencing import Registry, Resource, Specification

from mockserver.errors import ConfigError, SpecError
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
_OPAQUE: Specification[Any] = Specification.OPAQUE
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


def mount_name(text: str) -> str:
    """A valid mount name made from any text (a file name's stem, a folder's name): lower case,
    every run of other characters than ``a-z0-9_-`` turned into ``-``."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return name or "api"


def valid_mount_name(name: str) -> bool:
    """Whether ``name`` can be a mount name (``[a-z0-9][a-z0-9_-]*``, not ``__mock``)."""
    return bool(_NAME_RE.match(name)) and name != "__mock"


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
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        # JSON is read as JSON: YAML's parser refuses valid JSON escapes ("\\ud83d\\udc4d").
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                raise SpecError(
                    str(path),
                    "/",
                    f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                ) from None
            document = _load_yaml(text, path)  # YAML in flow style, starting with "{"
    else:
        document = _load_yaml(text, path)
    if not isinstance(document, dict):
        raise SpecError(str(path), "/", "the document must be a mapping with 'openapi' and 'paths'")
    return document


def _load_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(str(path), "/", f"not valid YAML or JSON{where}: {exc}") from exc


def load_spec(path: str | Path, *, name: str | None = None) -> Spec:
    """Load one OpenAPI document and build its operations.

    ``name`` overrides the mount name (else ``x-mock.name``, else one derived from the file
    name: ``webhook-example-3.1.yaml`` mounts as ``webhook-example-3-1``).
    """
    path = Path(path)
    document = read_document(path)
    file = str(path)
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise SpecError(file, "/openapi", f"expected an OpenAPI 3.x document, found {version!r}")
    document = bundle_external_refs(path, document)
    document = upgrade_schemas(document, from_30=version.startswith("3.0"))
    settings = _settings(document, file, name or mount_name(path.stem))
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


BUNDLED = "x-mock-bundled"
_EXTERNAL_REF = re.compile(rb'"\$ref":"[^#]')


class _Bundler:
    """Bring every ``$ref`` to another file into the document, under ``components/x-mock-bundled``.

    Each referenced fragment is copied once and every reference to it (from any file) becomes a
    local ``#/components/x-mock-bundled/<name>``, so a schema that refers to itself, or to a file
    that refers back, stays one recursive schema instead of being expanded without end. A
    reference back into the root document becomes the local reference it means. Files are read
    once; ``referencing`` joins the URIs and follows the JSON pointers.
    """

    def __init__(self, root: Path, document: JSON) -> None:
        self.root_uri = root.resolve().as_uri()
        self.resources: dict[str, Resource[Any]] = {
            self.root_uri: _OPAQUE.create_resource(document)
        }
        self.failures: dict[str, SpecError] = {}
        self.registry: Registry[Any] = Registry(retrieve=self._retrieve).with_resource(  # type: ignore[call-arg]
            self.root_uri, self.resources[self.root_uri]
        )
        self.names: dict[str, str] = {}  # absolute reference -> bundled name
        self.bundled: JSON = {}

    def _retrieve(self, uri: str) -> Resource[Any]:
        resource = self.resources.get(uri)
        if resource is None:
            try:
                document = read_document(Path(url2pathname(urlparse(uri).path)))
            except SpecError as exc:
                self.failures[uri] = exc
                raise
            resource = self.resources[uri] = _OPAQUE.create_resource(document)
        return resource

    def bundle(self, document: JSON) -> JSON:
        resolver = self.registry.resolver(base_uri=self.root_uri)
        result = self._walk(document, resolver, self.root_uri, "")
        if self.bundled:
            components = dict(result.get("components") or {})
            components[BUNDLED] = self.bundled
            result = {**result, "components": components}
        return dict(result)

    def _walk(self, node: Any, resolver: Any, uri: str, at: str) -> Any:
        if isinstance(node, list):
            items = [self._walk(item, resolver, uri, f"{at}/{i}") for i, item in enumerate(node)]
            return node if all(a is b for a, b in zip(items, node, strict=True)) else items
        if not isinstance(node, dict):
            return node
        changed = False
        result: JSON = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                new = self._reference(value, resolver, uri, f"{at}/$ref")
            else:
                new = self._walk(value, resolver, uri, f"{at}/{_escape(str(key))}")
            changed = changed or new is not value
            result[key] = new
        return result if changed else node

    def _reference(self, ref: str, resolver: Any, uri: str, at: str) -> str:
        file = _file_of(uri)
        if ref.startswith("#") and uri == self.root_uri:
            return ref
        if urlparse(ref).scheme in ("http", "https"):
            raise SpecError(
                file, at, f"remote $ref {ref!r} is not fetched; save it beside the spec"
            )
        absolute = urljoin(uri, ref)
        target_uri, fragment = urldefrag(absolute)
        if target_uri == self.root_uri:
            return f"#{fragment}"
        name = self.names.get(absolute)
        if name is None:
            name = self._name_for(target_uri, fragment)
            self.names[absolute] = name
            self.bundled[name] = None  # taken before the walk: a reference back finds it
            target_file = _file_of(target_uri)
            try:
                resolved = resolver.lookup(ref)
            except referencing.exceptions.Unresolvable as exc:
                failure = self.failures.get(target_uri)
                if failure is not None:
                    problem = f"$ref {ref!r}: {target_file}: {failure.problem}"
                else:
                    problem = (
                        f"$ref {ref!r}: {target_file} has nothing at '#{unquote(fragment)}'; "
                        f"fix the reference ({type(exc).__name__})"
                    )
                raise SpecError(file, at, problem) from None
            self.bundled[name] = self._walk(
                resolved.contents, resolved.resolver, target_uri, unquote(fragment)
            )
        return f"#/components/{BUNDLED}/{_escape(name)}"

    def _name_for(self, uri: str, fragment: str) -> str:
        stem = Path(urlparse(uri).path).stem
        parts = [p for p in unquote(fragment).split("/") if p]
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", ".".join([stem, *parts[-2:]])) or "ref"
        name, n = base, 1
        while name in self.bundled:
            n += 1
            name = f"{base}.{n}"
        return name


def bundle_external_refs(path: Path, document: JSON) -> JSON:
    """``document`` (read from ``path``) with every ``$ref`` to another file brought in under
    ``components/x-mock-bundled`` (see :class:`_Bundler`); a one-file document as it is."""
    if not _has_external_refs(document):
        return document
    return _Bundler(path, document).bundle(document)


def _has_external_refs(document: JSON) -> bool:
    """Whether a ``$ref`` points outside the document (a C-speed scan: most specs are one file)."""
    try:
        return _EXTERNAL_REF.search(orjson.dumps(document)) is not None
    except orjson.JSONEncodeError:
        return True


def _file_of(uri: str) -> str:
    return url2pathname(urlparse(uri).path)


INTEGER_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def upgrade_schemas(document: JSON, *, from_30: bool) -> JSON:
    """Rewrite OpenAPI 3.0 schema keywords into their JSON Schema 2020-12 form (``from_30``),
    and give ``format: int32``/``int64`` integers the bounds of their format."""
    try:
        document = orjson.loads(orjson.dumps(document))  # a deep copy, 10x faster than copy's
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        document = copy.deepcopy(document)

    def fix(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                fix(item)
            return
        if not isinstance(node, dict):
            return
        bounds = INTEGER_BOUNDS.get(node["format"]) if isinstance(node.get("format"), str) else None
        if bounds is not None and node.get("type") in ("integer", ["integer", "null"]):
            low, high = bounds
            if not isinstance(node.get("minimum"), int | float) or node["minimum"] < low:
                node["minimum"] = low
            if not isinstance(node.get("maximum"), int | float) or node["maximum"] > high:
                node["maximum"] = high
        if not from_30:
            for value in node.values():
                fix(value)
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
        if raw.get("name"):
            raise SpecError(
                file, "/x-mock/name", f"mount name {name!r} must match {_NAME_RE.pattern}"
            )
        raise ConfigError(
            f"{file}: mount name {name!r} must match {_NAME_RE.pattern}; "
            "name the mount with --spec NAME=PATH"
        )
    if name == "__mock":
        raise SpecError(file, "/x-mock/name", "'__mock' is reserved for the control API")
    envelope = str(raw.get("envelope", "problem"))
    if not _NAME_RE.match(envelope):  # which envelopes exist is the app's packs' to say
        raise SpecError(
            file, "/x-mock/envelope", f"envelope {envelope!r} must match {_NAME_RE.pattern}"
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
                message=str(rate["message"]) if rate.get("message") else None,
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
            http = str(scheme.get("scheme", "")).strip()
            if not http:
                raise SpecError(file, at, "an http security scheme needs a 'scheme' (e.g. bearer)")
            if http.lower() in ("bearer", "basic"):
                schemes[name] = SecurityScheme(name, http.lower(), "Authorization")
            else:  # digest, hoba, ...: credentials in 'Authorization: <Scheme> ...' are accepted
                schemes[name] = SecurityScheme(name, "http", http[0].upper() + http[1:])
        elif kind == "apiKey":
            where = scheme.get("in")
            if where not in ("header", "query", "cookie"):
                raise SpecError(file, at, "apiKey 'in' must be header, query or cookie")
            if not scheme.get("name"):
                raise SpecError(file, at, "an apiKey scheme needs the 'name' it is sent under")
            schemes[name] = SecurityScheme(name, where, str(scheme["name"]))
        elif kind in ("oauth2", "openIdConnect"):
            schemes[name] = SecurityScheme(name, "bearer", "Authorization")
        elif kind == "mutualTLS":  # the TLS layer's business: nothing to check in the request
            continue
        else:
            raise SpecError(file, at, f"unknown security scheme type {kind!r}")
    return schemes


def _requirements(
    raw: Any, schemes: dict[str, SecurityScheme], file: str, at: str, declared: Any = ()
) -> list[list[SecurityScheme]]:
    alternatives: list[list[SecurityScheme]] = []
    for requirement in raw or []:
        group = []
        for scheme_name in requirement:
            if scheme_name in declared and scheme_name not in schemes:
                continue  # mutualTLS: satisfied below HTTP
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
        encoding = media.get("encoding") or {}
        content[media_name] = MediaType(
            schema=media.get("schema"),
            examples=examples,
            encoding={
                prop: resolve(value, document, file, f"{at}/{media_name}/encoding/{prop}")
                for prop, value in encoding.items()
            }
            if isinstance(encoding, dict)
            else {},
        )
    return content


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _operations(
    document: JSON, file: str, api: str, schemes: dict[str, SecurityScheme]
) -> Iterator[Operation]:
    paths = document.get("paths")
    if paths is None and str(document.get("openapi", "")).startswith("3.1"):
        paths = {}  # 3.1: a document of webhooks or components only serves no operation
    if not isinstance(paths, dict):
        raise SpecError(file, "/paths", "the document has no 'paths' mapping")
    declared = set((document.get("components") or {}).get("securitySchemes") or {})
    root_security = document.get("security")
    seen_ids: dict[str, str] = {}
    for path, item in paths.items():
        item_at = f"/paths/{_escape(path)}"
        if not path.startswith("/"):
            raise SpecError(file, item_at, "a path must start with '/'")
        item = resolve(item, document, file, item_at)
        for method in HTTP_METHODS:
            if method not in item:
                continue
            at = f"{item_at}/{method}"
            try:
                yield _operation(
                    document,
                    file,
                    api,
                    schemes,
                    declared,
                    path,
                    method,
                    item,
                    at,
                    seen_ids,
                    root_security,
                )
            except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
                what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
                raise SpecError(
                    file,
                    at,
                    f"this operation cannot be read ({what}); check it against the "
                    "OpenAPI specification",
                ) from None


def _operation(
    document: JSON,
    file: str,
    api: str,
    schemes: dict[str, SecurityScheme],
    declared: set[str],
    path: str,
    method: str,
    item: JSON,
    at: str,
    seen_ids: dict[str, str],
    root_security: Any,
) -> Operation:
    """One operation of a path item (see :func:`_operations`)."""
    shared = item.get("parameters") or []
    op = resolve(item[method], document, file, at)  # a $ref here is not OpenAPI, but common
    op_id = str(op.get("operationId") or f"{method}{path}")
    if op_id in seen_ids:
        raise SpecError(file, at, f"operationId {op_id!r} already used at {seen_ids[op_id]}")
    seen_ids[op_id] = at
    params: dict[tuple[str, str], Parameter] = {}
    for index, raw in enumerate([*shared, *(op.get("parameters") or [])]):
        p_at = f"{at}/parameters/{index}"
        p = resolve(raw, document, file, p_at)
        location = p.get("in") if isinstance(p, dict) else None
        if location not in ("path", "query", "header", "cookie") or not p.get("name"):
            raise SpecError(
                file, p_at, "a parameter needs a 'name' and 'in' (path, query, header or cookie)"
            )
        schema = p.get("schema") or {}
        params[(p["name"], location)] = Parameter(
            name=str(p["name"]),
            location=str(location),
            required=bool(p.get("required", location == "path")),
            schema=schema,
            explode=bool(p.get("explode", p.get("style", "form") == "form")),
            style=str(p.get("style", "form" if location in ("query", "cookie") else "simple")),
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
    return Operation(
        api=api,
        operation_id=op_id,
        method=method.upper(),
        path=path,
        summary=str(op.get("summary", "")),
        parameters=list(params.values()),
        body_required=bool(body.get("required", False)),
        body_content=_media(body.get("content"), document, file, f"{at}/requestBody/content"),
        responses=responses,
        security=_requirements(security, schemes, file, f"{at}/security", declared),
        x_mock=dict(op.get("x-mock") or {}),
        pointer=at,
    )

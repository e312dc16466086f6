"""The ``mockserver`` command: serve, validate, routes, contract, fixtures, drift, examples."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from mockserver.config import MIB, Settings
from mockserver.errors import MockServerError

if TYPE_CHECKING:  # imported where used: `mockserver serve` starts without them
    from mockserver.engine import MountedApi
    from mockserver.recording import Recording

F = TypeVar("F", bound=Callable[..., Any])

# Options that name a file, or a folder, on the command line.
_file_option = partial(click.option, type=click.Path(dir_okay=False))
_folder_option = partial(click.option, type=click.Path(file_okay=False))
_output_option = _file_option("--output", "-o", help="File to write (default: standard output).")


def _spec_files_option(help: str) -> Callable[[F], F]:
    """``--spec`` of the commands that check recordings: existing spec files, repeatable."""
    return click.option(
        "--spec", "specs", multiple=True, type=click.Path(exists=True, dir_okay=False), help=help
    )


def _flag(name: str, setting: str, value: bool, help: str) -> Callable[[F], F]:
    """A flag that sets ``setting`` to ``value``; left out, the setting comes from the
    environment or its default (the option is ``None``)."""
    return click.option(name, setting, flag_value=value, default=None, help=help)


def _options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Several options as one decorator, shown by ``--help`` in the order given."""

    def apply(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def _settings(**options: Any) -> Settings:
    try:
        return Settings.from_env(**options)
    except MockServerError as exc:
        raise click.UsageError(str(exc)) from None


def _exit_on(exc: MockServerError, code: int | None = None) -> NoReturn:
    """Report ``exc`` on standard error and exit with ``code`` (default: the error's own)."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code if code is None else code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mockserver")
def main() -> None:
    """A validating, stateful mock of documented HTTP APIs (Tamio, Bunce, and your own specs)."""


class SpecPath(click.ParamType[str]):
    """``PATH`` or ``NAME=PATH``: a spec file, optionally with the name to mount it under."""

    name = "[NAME=]PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from mockserver.openapi.mounts import parse_entry

        try:
            entry = parse_entry(str(value))
        except MockServerError as exc:
            self.fail(str(exc), param, ctx)
        if not entry.path.is_file():
            self.fail(f"spec file {str(entry.path)!r} does not exist.", param, ctx)
        return str(value)


# serve's options, each named after the setting it gives (a field of mockserver.config.Settings),
# except --port-file, which serve hands to the server, and --proxy and --max-body-size, which it
# converts. An option not given is None (a repeatable one an empty tuple): the setting then comes
# from the environment or its default.
_serve_options = _options(
    click.option("--host", help="Address to bind (default 127.0.0.1)."),
    click.option("--port", type=int, help="Port (default 8000; 0 picks a free one)."),
    _file_option(
        "--port-file",
        help="Once the port is bound, write its number to this file (how a script learns the port "
        "--port 0 picked).",
    ),
    click.option(
        "--spec",
        "specs",
        multiple=True,
        type=SpecPath(),
        help="An extra OpenAPI spec to serve (repeatable); NAME=PATH mounts it at /NAME.",
    ),
    _flag(
        "--strict-examples",
        "strict_examples",
        True,
        "Refuse to start when an example breaks its schema (default: warn, serve generated).",
    ),
    click.option(
        "--api", "apis", multiple=True, help="Serve only these APIs (repeatable), e.g. --api bunce."
    ),
    _flag("--no-bundled", "bundled", False, "Serve only the --spec files, not the bundled specs."),
    click.option("--seed", type=int, help="Seed for generated data (repeatable answers)."),
    click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"])),
    _flag("--quiet", "log_requests", False, "No log line per request."),
    click.option(
        "--workers",
        type=int,
        help="Worker processes (default: one per CPU, at most 4; >1 shares an SQLite store).",
    ),
    click.option("--threads", type=int, help="Threads per worker (default 8)."),
    click.option(
        "--request-timeout",
        "request_timeout_s",
        type=float,
        help="Seconds a request may take to arrive, from its first byte (default 15).",
    ),
    click.option(
        "--state",
        metavar="FILE|URL",
        help="Where state lives: an SQLite FILE kept across restarts, or a postgresql:// URL that "
        "several hosts share (docs/deployment.md).",
    ),
    click.option(
        "--control-token",
        envvar="MOCKSERVER_CONTROL_TOKEN",
        help="Token the /__mock/ control API requires (mandatory off loopback).",
    ),
    click.option(
        "--allowed-host",
        "allowed_hosts",
        multiple=True,
        help="A host name the /__mock/ control API answers to, besides localhost and the bound "
        "address (repeatable).",
    ),
    click.option("--max-body-size", type=float, help="Body limit in MiB (default 10)."),
    click.option("--validate-responses", type=click.Choice(["off", "warn", "strict"])),
    _flag("--no-cors", "cors", False, "Do not answer CORS preflight requests."),
    click.option(
        "--job-delay", "job_delay_s", type=float, help="Seconds before a Tamio import job runs."
    ),
    click.option(
        "--dataset",
        type=click.Path(exists=True, dir_okay=False),
        help="A data set (JSON) of customers to load at start.",
    ),
    _flag(
        "--tls",
        "tls",
        True,
        "Serve HTTPS with a certificate from the mock's local CA (created once; see docs/tls.md).",
    ),
    _file_option(
        "--tls-cert", help="Serve HTTPS with this certificate chain (PEM) instead; needs --tls-key."
    ),
    _file_option("--tls-key", help="The key of --tls-cert (PEM)."),
    click.option(
        "--proxy",
        "proxies",
        multiple=True,
        metavar="API=URL",
        help="Forward API's requests to URL and check both sides against the spec, e.g. "
        "bunce=https://sandbox.api.bunce.so/v1 (repeatable).",
    ),
    click.option(
        "--proxy-timeout",
        "proxy_timeout_s",
        type=float,
        help="Seconds to wait for the upstream (10).",
    ),
    _flag(
        "--proxy-strict",
        "proxy_strict",
        True,
        "Refuse requests that break the spec; answer 502 for upstream answers that do.",
    ),
    _folder_option(
        "--record",
        "record_dir",
        help="Write each proxied exchange into this folder (one JSON file each).",
    ),
    _folder_option(
        "--replay",
        "replay_dir",
        help="Answer requests that match a recording in this folder from it.",
    ),
)


@main.command()
@_serve_options
def serve(
    port_file: str | None, proxies: tuple[str, ...], max_body_size: float | None, **options: Any
) -> None:
    """Serve every bundled spec (and --spec files) on 127.0.0.1:8000."""
    from mockserver.config import parse_pairs
    from mockserver.server import serve_forever

    try:
        proxy = parse_pairs(list(proxies)) if proxies else None
    except MockServerError as exc:
        raise click.BadParameter(str(exc), param_hint="--proxy") from None
    # A repeatable option given no times: the setting from the environment or its default.
    given = {k: (list(v) or None) if isinstance(v, tuple) else v for k, v in options.items()}
    settings = _settings(
        **given,
        proxy=proxy,
        max_body_bytes=int(max_body_size * MIB) if max_body_size else None,
    )
    if settings.exposed and not settings.control_token:
        raise click.UsageError(
            f"binding {settings.host} exposes the /__mock/ control API, which can read and reset "
            "every account's data; pass --control-token TOKEN (or set MOCKSERVER_CONTROL_TOKEN)"
        )
    try:
        if settings.tls or settings.tls_cert or settings.tls_key:
            from mockserver import tls

            settings, files = tls.resolve(settings)
            if files is not None and files.ca_bundle:
                click.echo(tls.trust_hint(files.ca_bundle), err=True)
        serve_forever(settings, port_file=port_file)
    except MockServerError as exc:
        _exit_on(exc)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(specs: tuple[str, ...]) -> None:
    """Lint OpenAPI specs: structure, references, and every example against its schema."""
    from mockserver.specchecks import lint

    failed = False
    for path in specs:
        problems = lint(path)
        if problems:
            failed = True
            for problem in problems:
                click.echo(f"{problem}", err=True)
        else:
            click.echo(f"{path}: ok")
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--spec", "specs", multiple=True, type=SpecPath())
@click.option("--api", "apis", multiple=True)
def routes(specs: tuple[str, ...], apis: tuple[str, ...]) -> None:
    """Print what is mounted where."""
    from mockserver.app import load_specs, packs_registry

    settings = _settings(specs=list(specs) or None, apis=list(apis) or None)
    try:
        loaded = load_specs(settings, packs_registry(None))
    except MockServerError as exc:
        _exit_on(exc)
    for spec in loaded:
        click.echo(
            f"{spec.name}  {spec.mount}  ({spec.title} {spec.version}; {Path(spec.file).name})"
        )
        for op in spec.operations:
            click.echo(f"  {op.method:<7} {spec.mount}{op.path:<40} {op.operation_id}")
    click.echo("control  /__mock  (GET /__mock/openapi.json)")


@main.group()
def fixtures() -> None:
    """Generate fixture data: bulk request bodies and seed data sets (faker, seeded)."""


@fixtures.command("generate")
@click.option(
    "--api",
    "apis",
    multiple=True,
    required=True,
    help="tamio or bunce (repeatable for --kind dataset).",
)
@click.option("--count", type=int, required=True, help="Customers (per account for a data set).")
@click.option("--seed", type=int, required=True, help="Same seed, same bytes.")
@click.option(
    "--locale",
    "locales",
    multiple=True,
    default=("en_US",),
    show_default=True,
    help="Faker locale(s) for names, addresses, phones (repeatable; used in turn).",
)
@click.option(
    "--kind",
    type=click.Choice(["bulk", "dataset"]),
    default="bulk",
    show_default=True,
    help="bulk: a bulk-create request body; dataset: customers per account.",
)
@click.option(
    "--duplicates",
    type=int,
    default=0,
    show_default=True,
    help="bulk: this many items repeat an earlier email (exactly or in another case).",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="dataset: account (credential) to store customers under (repeatable).",
)
@_output_option
def fixtures_generate(
    apis: tuple[str, ...],
    count: int,
    seed: int,
    locales: tuple[str, ...],
    kind: str,
    duplicates: int,
    accounts: tuple[str, ...],
    output: str | None,
) -> None:
    """Write realistic customers, valid against the bundled spec, as JSON."""
    from mockserver.fixtures import FixtureOptions, write

    options = FixtureOptions(
        apis=apis,
        count=count,
        seed=seed,
        locales=locales,
        kind=kind,
        duplicates=duplicates,
        accounts=accounts,
    )
    try:
        text = write(options, output)
    except MockServerError as exc:
        raise click.UsageError(str(exc)) from None
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


def _names(values: tuple[str, ...]) -> list[str]:
    """Repeatable and comma-separated option values, flattened."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@main.command()
@click.argument("spec")
@click.option(
    "--url",
    required=True,
    help="Base URL of the deployment, e.g. https://sandbox.api.bunce.so/v1 or "
    "http://127.0.0.1:8000/bunce/v1.",
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    help="'Name: value' sent with every request, e.g. credentials (repeatable).",
)
@click.option(
    "--max-examples", type=int, help="Generated requests per operation and phase (default 25)."
)
@click.option(
    "--checks",
    "checks",
    multiple=True,
    help="Only these checks (comma-separated or repeatable; default: all).",
)
@click.option("--exclude-checks", "exclude_checks", multiple=True, help="Checks to skip.")
@click.option(
    "--phases",
    "phases",
    multiple=True,
    help="examples, coverage, fuzzing, stateful (default: all).",
)
@click.option("--seed", type=int, help="Seed of the generated data (default fixed).")
@click.option(
    "--target",
    type=click.Choice(["auto", "mock", "deployment"]),
    default="auto",
    show_default=True,
    help="mock applies the mock-only allowances; auto asks URL's /__mock/health.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="No allowances, and an undocumented refusal fails: schemathesis' defaults everywhere.",
)
def contract(
    spec: str,
    url: str,
    headers: tuple[str, ...],
    max_examples: int | None,
    checks: tuple[str, ...],
    exclude_checks: tuple[str, ...],
    phases: tuple[str, ...],
    seed: int | None,
    target: str,
    strict: bool,
) -> None:
    """Check that the API at --url answers as SPEC documents (schemathesis, every check).

    SPEC is an OpenAPI file or the name of a bundled spec (tamio, bunce). Exits 1 when the
    deployment and the spec disagree, listing each disagreement with a curl command. A refusal
    (4xx) the spec does not document is listed as the spec's fault (SPEC lines) and does not
    fail the run unless --strict.
    """
    from mockserver import contract as contracts
    from mockserver.openapi.loader import bundled_spec_paths

    path = Path(spec)
    if not path.is_file():
        bundled = {p.stem: p for p in bundled_spec_paths()}
        if spec not in bundled:
            raise click.UsageError(
                f"SPEC {spec!r} is neither a file nor a bundled spec ({', '.join(sorted(bundled))})"
            )
        path = bundled[spec]
    options: dict[str, Any] = {"strict": strict}
    if max_examples is not None:
        options["max_examples"] = max_examples
    if seed is not None:
        options["seed"] = seed
    if checks and _names(checks) != ["all"]:
        options["checks"] = _names(checks)
    if exclude_checks:
        options["exclude_checks"] = _names(exclude_checks)
    if phases:
        options["phases"] = _names(phases)
    try:
        document = contracts.read_spec(path)
        parsed = dict(contracts.parse_header(h) for h in headers)
        if target == "auto":
            target = "mock" if contracts.detect_mock(url) else "deployment"
        contracts.config_dict(document, target=target, **options)  # fail early on bad options
    except MockServerError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"contract: {path} against {url} (target: {target})")
    applied = contracts.allowances_for(
        document,
        target=target,
        strict=strict,
        checks=options.get("checks"),
        exclude_checks=options.get("exclude_checks", ()),
    )
    for line in contracts.describe_allowances(applied):
        click.echo(f"  allowance: {line}")
    result = contracts.run(
        document,
        url,
        headers=parsed,
        target=target,
        on_event=lambda line: click.echo(f"  {line}"),
        **options,
    )
    for finding in [*result.spec_faults, *result.findings]:
        click.echo(finding.render())
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option(
    "--url",
    help="A running mock (default http://127.0.0.1:8000): its journal's proxied exchanges.",
)
@click.option(
    "--recordings",
    type=click.Path(exists=True, file_okay=False),
    help="A --record folder instead: every recording checked against the specs as they are now.",
)
@_spec_files_option("With --recordings: a spec to check against (repeatable).")
@click.option("--no-bundled", is_flag=True, help="With --recordings: only the --spec files.")
@click.option("--api", help="Only this API.")
@click.option(
    "--control-token",
    envvar="MOCKSERVER_CONTROL_TOKEN",
    help="The running mock's control token, if it has one.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (for CI).")
def drift(
    url: str | None,
    recordings: str | None,
    specs: tuple[str, ...],
    no_bundled: bool,
    api: str | None,
    control_token: str | None,
    as_json: bool,
) -> None:
    """Report where an API and its spec disagree, by operation and JSON path.

    Reads a running mock's journal (what its --proxy forwarded or --replay answered), or checks
    a --record folder against the specs. Exits 1 when there is drift, 0 when there is none and
    2 when the report cannot be made.
    """
    import orjson

    from mockserver.drift import DriftReport, check_recordings, summarise

    if url and recordings:
        raise click.UsageError("pass --url or --recordings, not both")
    try:
        if recordings:
            report = summarise(check_recordings(*_recorded(recordings, specs, no_bundled, api)))
        else:
            report = DriftReport.from_dict(
                _fetch_drift(url or "http://127.0.0.1:8000", api, control_token)
            )
    except MockServerError as exc:
        _exit_on(exc, 2)
    if as_json:
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(report.render(), nl=False)
    sys.exit(1 if report.drift else 0)


@main.command()
@click.argument("recordings", type=click.Path(exists=True, file_okay=False))
@_spec_files_option("A spec to propose examples for (repeatable).")
@click.option("--no-bundled", is_flag=True, help="Only the --spec files.")
@click.option("--api", help="Only this API's recordings.")
@_output_option
def examples(
    recordings: str,
    specs: tuple[str, ...],
    no_bundled: bool,
    api: str | None,
    output: str | None,
) -> None:
    """Propose spec examples from RECORDINGS (a --record folder), as YAML to review.

    Each recorded request and answer becomes a named example under its operation, status and
    media type; examples that break the spec as it stands are marked (x-mock-violations).
    """
    from mockserver.proposals import propose

    try:
        apis, found = _recorded(recordings, specs, no_bundled, api)
    except MockServerError as exc:
        _exit_on(exc, 2)
    text = propose(apis, found, recordings)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _recorded(
    folder: str, specs: tuple[str, ...], no_bundled: bool, api: str | None
) -> tuple[dict[str, MountedApi], list[Recording]]:
    """The mounted specs (the bundled ones unless ``no_bundled``, and ``specs``) and the
    recordings in ``folder`` (of ``api`` only, when given), for drift and examples."""
    from mockserver.app import load_specs, packs_registry
    from mockserver.engine import MountedApi
    from mockserver.recording import load_recordings

    registry = packs_registry(None)
    loaded = load_specs(_settings(specs=list(specs) or None, bundled=not no_bundled), registry)
    apis = {spec.name: MountedApi(spec, registry) for spec in loaded}
    return apis, [r for r in load_recordings(folder) if api is None or r.api == api]


def _fetch_drift(url: str, api: str | None, token: str | None) -> dict[str, Any]:
    """GET <url>/__mock/drift; MockServerError says why it failed."""
    from urllib.parse import urlencode

    import orjson
    import urllib3

    target = url.rstrip("/") + "/__mock/drift" + (f"?{urlencode({'api': api})}" if api else "")
    headers = {"X-Mock-Token": token} if token else {}
    try:
        answer = urllib3.request("GET", target, headers=headers, timeout=10, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise MockServerError(f"cannot reach {target}: {exc}") from None
    if answer.status != 200:
        raise MockServerError(f"{target} answered {answer.status}: {answer.data[:300]!r}")
    try:
        data = orjson.loads(answer.data)
    except orjson.JSONDecodeError:
        raise MockServerError(f"{target} did not answer JSON; is it a mockserver?") from None
    if not isinstance(data, dict):
        raise MockServerError(f"{target} answered {data!r}, not a drift report")
    return data


def run() -> None:
    """Entry point for ``python -m mockserver``."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    main(prog_name="mockserver")

"""The ``mockserver`` command: serve, validate, routes, contract, fixtures, drift, examples."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from mockserver.config import MIB, Settings
from mockserver.errors import MockServerError


def _settings(**options: Any) -> Settings:
    try:
        return Settings.from_env(**options)
    except MockServerError as exc:
        raise click.UsageError(str(exc)) from None


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


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000; 0 picks a free one).")
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Once the port is bound, write its number to this file (how a script learns the port "
    "--port 0 picked).",
)
@click.option(
    "--spec",
    "specs",
    multiple=True,
    type=SpecPath(),
    help="An extra OpenAPI spec to serve (repeatable); NAME=PATH mounts it at /NAME.",
)
@click.option(
    "--strict-examples",
    is_flag=True,
    help="Refuse to start when an example breaks its schema (default: warn, serve generated).",
)
@click.option(
    "--api", "apis", multiple=True, help="Serve only these APIs (repeatable), e.g. --api bunce."
)
@click.option(
    "--no-bundled", is_flag=True, help="Serve only the --spec files, not the bundled specs."
)
@click.option(
    "--seed", type=int, default=None, help="Seed for generated data (repeatable answers)."
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None)
@click.option("--quiet", is_flag=True, help="No log line per request.")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes (default: one per CPU, at most 4; >1 shares an SQLite store).",
)
@click.option("--threads", type=int, default=None, help="Threads per worker (default 8).")
@click.option(
    "--request-timeout",
    type=float,
    default=None,
    help="Seconds a request may take to arrive, from its first byte (default 15).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file that keeps state across restarts.",
)
@click.option(
    "--control-token",
    default=None,
    envvar="MOCKSERVER_CONTROL_TOKEN",
    help="Token the /__mock/ control API requires (mandatory off loopback).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="A host name the /__mock/ control API answers to, besides localhost and the bound "
    "address (repeatable).",
)
@click.option("--max-body-size", type=float, default=None, help="Body limit in MiB (default 10).")
@click.option("--validate-responses", type=click.Choice(["off", "warn", "strict"]), default=None)
@click.option("--no-cors", is_flag=True, help="Do not answer CORS preflight requests.")
@click.option(
    "--job-delay", type=float, default=None, help="Seconds before a Tamio import job runs."
)
@click.option(
    "--dataset",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A data set (JSON) of customers to load at start.",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with a certificate from the mock's local CA (created once; see docs/tls.md).",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False),
    default=None,
    help="Serve HTTPS with this certificate chain (PEM) instead; needs --tls-key.",
)
@click.option(
    "--tls-key", type=click.Path(dir_okay=False), default=None, help="The key of --tls-cert (PEM)."
)
@click.option(
    "--proxy",
    "proxies",
    multiple=True,
    metavar="API=URL",
    help="Forward API's requests to URL and check both sides against the spec, e.g. "
    "bunce=https://sandbox.api.bunce.so/v1 (repeatable).",
)
@click.option(
    "--proxy-timeout", type=float, default=None, help="Seconds to wait for the upstream (10)."
)
@click.option(
    "--proxy-strict",
    is_flag=True,
    default=None,
    help="Refuse requests that break the spec; answer 502 for upstream answers that do.",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write each proxied exchange into this folder (one JSON file each).",
)
@click.option(
    "--replay",
    "replay_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Answer requests that match a recording in this folder from it.",
)
def serve(**options: Any) -> None:
    """Serve every bundled spec (and --spec files) on 127.0.0.1:8000."""
    from mockserver.config import parse_pairs
    from mockserver.server import serve_forever

    try:
        proxy = parse_pairs(list(options["proxies"])) if options["proxies"] else None
    except MockServerError as exc:
        raise click.BadParameter(str(exc), param_hint="--proxy") from None

    settings = _settings(
        host=options["host"],
        port=options["port"],
        specs=list(options["specs"]) or None,
        apis=list(options["apis"]) or None,
        bundled=False if options["no_bundled"] else None,
        seed=options["seed"],
        log_level=options["log_level"],
        log_requests=False if options["quiet"] else None,
        workers=options["workers"],
        threads=options["threads"],
        request_timeout_s=options["request_timeout"],
        state_path=options["state_path"],
        control_token=options["control_token"],
        allowed_hosts=list(options["allowed_hosts"]) or None,
        max_body_bytes=int(options["max_body_size"] * MIB) if options["max_body_size"] else None,
        validate_responses=options["validate_responses"],
        strict_examples=True if options["strict_examples"] else None,
        cors=False if options["no_cors"] else None,
        job_delay_s=options["job_delay"],
        dataset=options["dataset"],
        tls=True if options["tls"] else None,
        tls_cert=options["tls_cert"],
        tls_key=options["tls_key"],
        proxy=proxy,
        proxy_timeout_s=options["proxy_timeout"],
        proxy_strict=options["proxy_strict"],
        record_dir=options["record_dir"],
        replay_dir=options["replay_dir"],
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
        serve_forever(settings, port_file=options["port_file"])
    except MockServerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


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
    from mockserver.app import load_specs

    settings = _settings(specs=list(specs) or None, apis=list(apis) or None)
    try:
        loaded = load_specs(settings)
    except MockServerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
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
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (default: standard output).",
)
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
    "--max-examples",
    type=int,
    default=None,
    help="Generated requests per operation and phase (default 25).",
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
@click.option("--seed", type=int, default=None, help="Seed of the generated data (default fixed).")
@click.option(
    "--target",
    type=click.Choice(["auto", "mock", "deployment"]),
    default="auto",
    show_default=True,
    help="mock applies the mock-only allowances; auto asks URL's /__mock/health.",
)
@click.option("--strict", is_flag=True, help="No allowances: schemathesis' defaults everywhere.")
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
    deployment and the spec disagree, listing each disagreement with a curl command.
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
    for finding in result.findings:
        click.echo(finding.render())
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option(
    "--url",
    default=None,
    help="A running mock (default http://127.0.0.1:8000): its journal's proxied exchanges.",
)
@click.option(
    "--recordings",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="A --record folder instead: every recording checked against the specs as they are now.",
)
@click.option(
    "--spec",
    "specs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="With --recordings: a spec to check against (repeatable).",
)
@click.option("--no-bundled", is_flag=True, help="With --recordings: only the --spec files.")
@click.option("--api", default=None, help="Only this API.")
@click.option(
    "--control-token",
    default=None,
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
            from mockserver.app import load_specs
            from mockserver.engine import MountedApi
            from mockserver.recording import load_recordings

            loaded = load_specs(_settings(specs=list(specs) or None, bundled=not no_bundled))
            apis = {spec.name: MountedApi(spec) for spec in loaded}
            found = [r for r in load_recordings(recordings) if api is None or r.api == api]
            report = summarise(check_recordings(apis, found))
        else:
            report = DriftReport.from_dict(
                _fetch_drift(url or "http://127.0.0.1:8000", api, control_token)
            )
    except MockServerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(report.render(), nl=False)
    sys.exit(1 if report.drift else 0)


@main.command()
@click.argument("recordings", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--spec",
    "specs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A spec to propose examples for (repeatable).",
)
@click.option("--no-bundled", is_flag=True, help="Only the --spec files.")
@click.option("--api", default=None, help="Only this API's recordings.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (default: standard output).",
)
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
    from mockserver.app import load_specs
    from mockserver.engine import MountedApi
    from mockserver.proposals import propose
    from mockserver.recording import load_recordings

    try:
        loaded = load_specs(_settings(specs=list(specs) or None, bundled=not no_bundled))
        apis = {spec.name: MountedApi(spec) for spec in loaded}
        found = [r for r in load_recordings(recordings) if api is None or r.api == api]
    except MockServerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    text = propose(apis, found, recordings)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


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

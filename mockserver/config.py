"""Settings in one place: from arguments, a file (JSON/YAML), or ``MOCKSERVER_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from mockserver.errors import ConfigError

MIB = 1024 * 1024


@dataclass(slots=True)
class Settings:
    """Everything that configures one mock server.

    ``specs`` adds user specs (``PATH`` or ``NAME=PATH``) to the bundled ones (``bundled=False``
    serves only ``specs``);
    ``apis`` limits which APIs are mounted. ``validate_responses``: ``off``, ``warn`` (journal and
    log) or ``strict`` (also answer 500 and record the error for the pytest fixture to re-raise).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    specs: list[str] = field(default_factory=list)
    bundled: bool = True
    apis: list[str] | None = None
    seed: int | None = None
    log_level: str = "info"
    log_requests: bool = True
    max_body_bytes: int = 10 * MIB
    validate_responses: str = "warn"
    # True: an example that breaks its schema stops start-up (else: a warning, and not served).
    strict_examples: bool = False
    cors: bool = True
    control_token: str | None = None
    # Host names (besides loopback names and the bound address) the control API answers to
    # (mockserver/guard.py); ``MOCKSERVER_ALLOWED_HOSTS`` takes them comma-separated.
    allowed_hosts: list[str] = field(default_factory=list)
    # Where the state lives: None (memory of one worker, or a temporary SQLite file shared by
    # several), an SQLite file path, or a ``postgresql://`` URL that several hosts share
    # (docs/deployment.md). ``MOCKSERVER_STATE`` sets it.
    state: str | None = None
    # PostgreSQL state only: connections each worker process opens at most (None: threads + 8,
    # see ``pool_size``).
    state_pool: int | None = None
    # False for a state file that is thrown away at exit (``serve --workers N`` without
    # ``--state``): SQLite then skips its fsyncs (``synchronous = OFF``), which only an OS crash
    # could make matter.
    state_durable: bool = True
    # None: `serve` picks one per CPU it may use, at most 4 (see ``default_workers``); one
    # worker keeps the state in memory, several share an SQLite file.
    workers: int | None = None
    threads: int = 8
    # `serve`: seconds from a request's first byte until all of it must have arrived (else 408
    # and the connection closes); requests are read in full before a thread runs them.
    request_timeout_s: float = 15.0
    job_delay_s: float = 0.2
    journal_limit: int = 1000
    # SQLite state only: journal entries are committed by a per-process thread every this many
    # ms instead of inside each request (0: inside each request). Reads wait a few periods.
    journal_flush_ms: int = 5
    journal_bodies: bool = True
    background: bool = True
    webhook_max_attempts: int = 5
    webhook_backoff_base_s: float = 0.5
    webhook_backoff_cap_s: float = 30.0
    webhook_timeout_s: float = 5.0
    # How long a claim of a job or webhook delivery holds unless its process renews it: work of
    # a process that died is taken up by another (or after a restart) once its lease ends.
    lease_s: float = 30.0
    event_separator: str | None = None  # None: the spec's x-mock.webhooks.event-separator
    dataset: str | None = None
    tokens: dict[str, list[str]] = field(default_factory=dict)
    # HTTPS (mockserver.tls): ``tls`` with neither file set uses the mock's local CA, kept in
    # ``tls_dir`` (default: the user's data directory); ``tls_cert``/``tls_key`` are the files
    # served (the user's own, or the local CA's leaf once resolved).
    tls: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_dir: str | None = None
    # Proxy mode (docs/proxy.md): API name -> upstream base URL; answers from recordings.
    proxy: dict[str, str] = field(default_factory=dict)
    proxy_timeout_s: float = 10.0
    proxy_strict: bool = False
    record_dir: str | None = None
    replay_dir: str | None = None

    def __post_init__(self) -> None:
        if self.validate_responses not in ("off", "warn", "strict"):
            raise ConfigError(
                f"validate_responses={self.validate_responses!r}: use off, warn or strict"
            )
        if self.max_body_bytes < 1:
            raise ConfigError(f"max_body_bytes={self.max_body_bytes}: must be positive")
        if self.request_timeout_s <= 0:
            raise ConfigError(f"request_timeout_s={self.request_timeout_s}: must be positive")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers={self.workers}: must be at least 1")
        if self.state_pool is not None and self.state_pool < 1:
            raise ConfigError(f"state_pool={self.state_pool}: must be at least 1")
        if self.state is not None and not is_postgres_url(self.state):
            if "://" in self.state and not self.state.startswith("sqlite:///"):
                raise ConfigError(
                    f"state={self.state!r}: give an SQLite file path (or sqlite:///PATH) or a"
                    " postgresql:// URL"
                )
            if os.path.isdir(self.state):
                raise ConfigError(f"state={self.state!r} is a directory: give an SQLite file path")
        if self.webhook_timeout_s <= 0 or self.lease_s <= self.webhook_timeout_s:
            raise ConfigError(
                f"lease_s={self.lease_s}, webhook_timeout_s={self.webhook_timeout_s}: a webhook"
                " attempt's timeout must be positive and shorter than the lease"
            )

    @property
    def pool_size(self) -> int:
        """PostgreSQL connections per worker process: ``state_pool``, or one per request
        thread plus the background threads (jobs, deliveries and their 4 senders, leases, the
        journal writer) and a spare."""
        return self.state_pool or self.threads + 8

    @property
    def state_url(self) -> bool:
        """True when ``state`` names a PostgreSQL server (``postgresql://`` or ``postgres://``)."""
        return is_postgres_url(self.state)

    @property
    def scheme(self) -> str:
        """``https`` when the server speaks TLS, else ``http``."""
        return "https" if self.tls or self.tls_cert else "http"

    @property
    def worker_count(self) -> int:
        """The worker processes `serve` runs: ``workers``, or :func:`default_workers`."""
        return self.workers or default_workers()

    @property
    def exposed(self) -> bool:
        """True when bound off loopback (the control API then needs a token)."""
        return self.host not in ("127.0.0.1", "localhost", "::1")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``MOCKSERVER_<FIELD>`` variables, then ``overrides`` (None values skipped).

        ``MOCKSERVER_CONFIG`` names a YAML/JSON file read first.
        """
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        config_file = environ.get("MOCKSERVER_CONFIG")
        if config_file:
            values.update(load_file(config_file))
        types = {f.name: f.type for f in fields(cls)}
        for name, kind in types.items():
            raw = environ.get(f"MOCKSERVER_{name.upper()}")
            if raw is None:
                continue
            values[name] = _parse(name, str(kind), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(types)
        if unknown:
            raise ConfigError(f"unknown settings {sorted(unknown)}; known: {sorted(types)}")
        return cls(**values)


def is_postgres_url(target: str | None) -> bool:
    """True when a ``--state`` target is a PostgreSQL URL rather than an SQLite file."""
    return target is not None and target.startswith(("postgresql://", "postgres://"))


def describe_state(target: str | None) -> str:
    """``target`` as a log line shows it: ``memory``, the file, or the URL without its password."""
    if target is None:
        return "memory"
    if not is_postgres_url(target):
        return target
    parts = urlsplit(target)
    if parts.password is None:
        return target
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker process per CPU this process may run on, at most 4.

    Parsing and validating a body is CPU work under the GIL, so each worker can use one core;
    past four, the shared SQLite state's write turns limit what more workers add.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def _parse(name: str, kind: str, raw: str) -> Any:
    """Convert an environment variable's text to the field's declared type."""
    base = kind.replace(" | None", "")
    if "None" in kind and raw.strip().lower() in ("", "none"):
        return None
    try:
        if base == "int":
            return int(raw)
        if base == "float":
            return float(raw)
        if base == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if base.startswith("list"):
            return [item for item in raw.split(os.pathsep if name == "specs" else ",") if item]
        if name == "proxy" and "=" in raw and not raw.lstrip().startswith("{"):
            return parse_pairs(raw.split(","))
        if base.startswith("dict"):
            loaded = yaml.safe_load(raw)
            if not isinstance(loaded, dict):
                raise ValueError("expected a mapping")
            return loaded
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"MOCKSERVER_{name.upper()}={raw!r}: {exc}") from exc
    return raw


def parse_pairs(items: list[str]) -> dict[str, str]:
    """``["bunce=https://sandbox.example/v1", ...]`` -> ``{"bunce": "https://..."}``."""
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.strip().partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"{item!r}: expected API=URL, e.g. bunce=https://sandbox.example/v1")
        pairs[name.strip()] = value.strip()
    return pairs


def load_file(path: str) -> dict[str, Any]:
    """Read a settings file (YAML or JSON mapping of setting names to values)."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file {path!r} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"settings file {path!r} must hold a mapping of setting names")
    return {str(k).replace("-", "_"): v for k, v in loaded.items()}

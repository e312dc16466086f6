"""The local CA and its leaf certificates (mockserver.tls), without a server."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import pytest
from cryptography import x509

from mockserver import tls
from mockserver.config import Settings
from mockserver.errors import ConfigError


def leaf_of(files: tls.TlsFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(files.cert).read_bytes())


def test_the_leaf_names_localhost_and_both_loopback_addresses(tmp_path: Path) -> None:
    files = tls.local_files(tmp_path)
    names = leaf_of(files).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    ca = x509.load_pem_x509_certificate(Path(str(files.ca_bundle)).read_bytes())
    leaf_of(files).verify_directly_issued_by(ca)


def test_mocks_starting_together_share_one_ca(tmp_path: Path) -> None:
    bundles: list[bytes] = []

    def start() -> None:
        files = tls.local_files(tmp_path)
        bundles.append(Path(str(files.ca_bundle)).read_bytes())

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bundles) == 6 and len(set(bundles)) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_resolve_leaves_plain_http_alone() -> None:
    settings = Settings()
    assert tls.resolve(settings) == (settings, None)
    assert settings.scheme == "http"


def test_resolve_hands_the_server_the_files_to_serve(tmp_path: Path) -> None:
    settings, files = tls.resolve(Settings(tls=True, tls_dir=str(tmp_path)))
    assert files is not None
    assert (settings.tls_cert, settings.tls_key) == (files.cert, files.key)
    assert settings.scheme == "https"
    assert files.ca_bundle == str(tmp_path / "ca" / "ca.pem")


def test_a_cert_without_its_key_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="--tls-cert and --tls-key go together"):
        tls.resolve(Settings(tls_cert="cert.pem"))


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    first = tls.local_files(tmp_path / "a")
    second = tls.local_files(tmp_path / "b")
    with pytest.raises(ConfigError, match="the key must be the certificate's"):
        tls.resolve(Settings(tls_cert=first.cert, tls_key=str(Path(second.cert))))
    with pytest.raises(ConfigError, match="does not exist"):
        tls.resolve(Settings(tls_cert=str(tmp_path / "nope.pem"), tls_key=first.key))


def test_tls_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"MOCKSERVER_TLS": "1", "MOCKSERVER_TLS_DIR": str(tmp_path)})
    assert settings.tls and settings.tls_dir == str(tmp_path)

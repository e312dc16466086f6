"""The fixture over HTTPS: the ``mockserver_tls`` ini option, and the CA bundle it hands out."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_the_ini_option_serves_the_fixture_over_https(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytester.makeini("[pytest]\nmockserver_tls = true\n")
    pytester.makepyfile(test_over_https="""
        import requests

        def test_client_trusts_the_bundle(mockserver):
            url = mockserver.base_url("tamio")
            assert url.startswith("https://127.0.0.1:") and url.endswith("/tamio/v2")
            answer = requests.post(url + "/customers/bulk/create", verify=mockserver.ca_bundle,
                                   headers={"Authorization": "Bearer tok"}, timeout=5,
                                   json={"customers": [{"name": "A", "email": "a@example.com",
                                                        "country": "de"}]})
            assert answer.json() == {"status": 200}
            mockserver.assert_called("bulkCreateCustomers", times=1)

        def test_a_client_without_the_bundle_is_refused(mockserver):
            try:
                requests.get(mockserver.url + "/__mock/health", timeout=5)
            except requests.exceptions.SSLError as exc:
                assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
            else:
                raise AssertionError("an untrusting client reached the mock")
    """)
    tls_dir = tmp_path_factory.mktemp("ca")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOCKSERVER_TLS_DIR", str(tls_dir))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert (tls_dir / "ca" / "ca.pem").is_file()  # the CA the tests trusted


def test_the_fixture_speaks_plain_http_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_default="""
        def test_plain(mockserver):
            assert mockserver.url.startswith("http://")
            assert mockserver.ca_bundle is None
    """)
    pytester.runpytest().assert_outcomes(passed=1)

"""How to: start a test with customers already in the mock.

Three ways: ``mockserver.seed(...)`` from the test, a data set file loaded for every test
(override the ``mockserver_dataset`` fixture in your conftest.py, e.g. with
``fixtures/datasets/small.json``), or ``POST /__mock/customers`` from any language.
Each credential is its own account: what one key seeded, another key does not see.
"""

import requests

ACME = {"X-Authorization": "sk_test_acme"}


def test_seed_then_page_through(mockserver):
    mockserver.seed("bunce", "sk_test_acme", [
        {"customer_id": str(n), "email": f"c{n}@example.com", "first_name": "C",
         "last_name": str(n), "phone_no": "+2348012345678"}
        for n in range(5)
    ])

    url = mockserver.base_url("bunce") + "/customers"
    # A page and its cursors sit inside the envelope's `data`, as Bunce's Node SDK reads them.
    first = requests.get(url, params={"per_page": 3}, headers=ACME, timeout=5).json()["data"]
    assert [c["customer_id"] for c in first["data"]] == ["0", "1", "2"]
    assert first["meta"]["has_next_page"] is True
    rest = requests.get(url, params={"per_page": 3, "cursor": first["meta"]["next_page_cursor"]},
                        headers=ACME, timeout=5).json()["data"]
    assert [c["customer_id"] for c in rest["data"]] == ["3", "4"]

    # Another key is another account.
    other = requests.get(url, headers={"X-Authorization": "sk_live_acme"}, timeout=5).json()
    assert other["data"]["data"] == []


def test_seed_through_the_control_api(mockserver):
    # What a test written in another language would do.
    answer = requests.post(mockserver.url + "/__mock/customers",
                           params={"api": "tamio", "account": "tamio-key"},
                           json=[{"name": "Anna", "email": "anna@example.de", "country": "DE"}],
                           timeout=5)
    assert answer.status_code == 201
    [anna] = mockserver.customers("tamio", "tamio-key")

    found = requests.get(mockserver.base_url("tamio") + f"/customers/retrieve/{anna['id']}",
                         headers={"Authorization": "Bearer tamio-key"}, timeout=5)
    assert found.json()["customer"]["country"] == "de"  # stored lower-case, as Tamio returns it

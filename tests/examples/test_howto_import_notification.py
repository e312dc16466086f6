"""How to: check what a Tamio import skipped, through its completion notification.

Tamio's bulk create only schedules an import and answers ``{"status": 200}``. Its document says
"once the import has been completed, a notification will be dispatched to your account"; the mock
records that notification when the import job finishes. It counts the customers created and
lists each skipped item (an email already in the account, or repeated in the batch) with
error_code 10142. ``mockserver.notifications(...)`` reads it, as ``GET /__mock/notifications``
does over HTTP.
"""

import requests

TAMIO_KEY = {"Authorization": "Bearer notify"}


def test_an_import_reports_its_skipped_items(mockserver):
    mockserver.seed("tamio", "notify", [{"name": "Ada", "email": "ada@example.com",
                                         "country": "gb"}])
    body = {"customers": [{"name": "Ada", "email": "ADA@example.com", "country": "gb"},
                          {"name": "Grace", "email": "grace@example.com", "country": "us"}]}
    requests.post(mockserver.base_url("tamio") + "/customers/bulk/create", json=body,
                  headers=TAMIO_KEY, timeout=5)

    mockserver.flush_jobs()  # run the import now instead of after its short delay

    [notification] = mockserver.notifications(api="tamio", account="notify")
    assert notification["created"] == 1
    assert notification["skipped"] == 1
    [skipped] = notification["skipped_items"]
    assert (skipped["index"], skipped["email"], skipped["error_code"]) == (
        0, "ADA@example.com", 10142)
    assert skipped["reason"] == "A customer with the email ADA@example.com already exists"


def test_the_notification_over_http(mockserver):
    body = {"customers": [{"name": "Ada", "email": "ada@example.com", "country": "gb"}]}
    requests.post(mockserver.base_url("tamio") + "/customers/bulk/create", json=body,
                  headers=TAMIO_KEY, timeout=5)
    mockserver.flush_jobs()

    answer = requests.get(mockserver.url + "/__mock/notifications",
                          params={"api": "tamio", "account": "notify"}, timeout=5).json()

    [notification] = answer["notifications"]
    assert (notification["created"], notification["skipped"]) == (1, 0)
    assert notification["account"] == "***"  # a short token is masked whole, as in the journal

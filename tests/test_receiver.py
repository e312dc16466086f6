"""``mockserver.testing.Receiver``: a local HTTP server that records what it gets and answers as
told (a webhook endpoint, an upstream API)."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from mockserver.testing import ReceivedRequest, Receiver, Reply


def test_it_records_each_request_and_answers_what_respond_returns() -> None:
    def respond(request: ReceivedRequest) -> Reply:
        return Reply.json(201, {"got": request.json()}, ("X-Note", "a"), ("X-Note", "b"))

    with Receiver(respond, path="/hooks") as receiver:
        assert receiver.url == f"http://127.0.0.1:{receiver.port}/hooks"
        answer = requests.post(receiver.url + "?n=1", json={"id": 7}, timeout=5)

    assert answer.status_code == 201
    assert answer.json() == {"got": {"id": 7}}
    assert answer.headers["X-Note"] == "a, b"  # a name may repeat
    [request] = receiver.received
    assert (request.method, request.path, request.json()) == ("POST", "/hooks?n=1", {"id": 7})
    assert request.header("content-type") == "application/json"
    assert request.header("X-Missing") is None


def test_none_closes_the_connection_without_an_answer() -> None:
    with Receiver(lambda request: None) as receiver, pytest.raises(requests.ConnectionError):
        requests.get(receiver.url, timeout=5)
    assert len(receiver.received) == 1


def test_wait_for_blocks_until_the_requests_arrive_and_fails_when_they_do_not() -> None:
    with Receiver() as receiver:
        threading.Timer(0.1, requests.get, args=(receiver.url,), kwargs={"timeout": 5}).start()
        [request] = receiver.wait_for(1, timeout=5)
        assert request.method == "GET"
        with pytest.raises(AssertionError, match="expected 2 requests, got 1"):
            receiver.wait_for(2, timeout=0.1)


def test_stop_closes_the_port() -> None:
    with Receiver() as receiver:
        port = receiver.port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0

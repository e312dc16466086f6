"""gunicorn's threaded worker, with every request read in full before a thread sees it.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as it has a byte to read,
and the thread then blocks until the request's headers and body have arrived. Eight clients
that send half their headers (or a ``Content-Length`` larger than what they send) and go silent
held all eight threads of a worker, and the worker answered nobody, not even
``/__mock/health``.

:class:`BufferingWorker` keeps gthread's thread pool, keep-alive handling and response writing,
and changes how a request gets to a thread: the worker's main loop (one ``selectors`` poller for
every connection) reads the bytes as they come, without blocking, and only a complete request
(its headers, then as much body as ``Content-Length`` or the chunked framing says) goes to a
thread, which parses it from memory and never waits for the client. A request must be complete
within :attr:`ReadLimits.request_timeout` seconds of its first byte (a client that trickles a
byte a second cannot stretch it), an idle connection is closed after the keep-alive time, and
a body over the size limit goes to the app as soon as that is known (it answers 413 and the
connection closes). Closing a connection, which gunicorn does by lingering on a blocking read in
the main loop for up to two seconds, is done without blocking too.

TLS: the handshake and the reads happen in the same loop, on a non-blocking ``SSLSocket``.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import socket
import ssl
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from gunicorn import http, sock
from gunicorn.workers.gthread import TConn, ThreadWorker

from mockserver import memory

RECV_SIZE = 256 * 1024
# The request line and headers together; gunicorn refuses longer fields and more than 100 of
# them with a 400, so anything past this without an empty line goes to its parser as it is.
MAX_HEAD = 1024 * 1024
# After a response with "Connection: close", how long and how much the worker reads and
# discards before closing, so that the client, which may still be sending its body, gets the
# answer instead of a reset.
LINGER_S = 2.0
LINGER_BYTES = 32 * 1024 * 1024

_CONTENT_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*([^\r\n]*)")
_TRANSFER_ENCODING = re.compile(rb"\ntransfer-encoding[ \t]*:")
_EXPECT_CONTINUE = re.compile(rb"\nexpect[ \t]*:[ \t]*100-continue[ \t]*\r?\n")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(frozen=True)
class ReadLimits:
    """How long and how much a worker reads before a request goes to the app.

    ``request_timeout``: seconds from a request's first byte until all of it must have arrived;
    ``max_body``: bytes of body the app will read at most (it answers 413 past that).
    """

    request_timeout: float = 15.0
    max_body: int = 10 * 1024 * 1024


class _Framing:
    """Where the request being read ends, found incrementally as bytes arrive."""

    __slots__ = ("body_start", "chunk_pos", "chunked", "continue_sent", "end", "overflow", "sized")

    def __init__(self) -> None:
        self.body_start = -1  # after the empty line; -1 while the head is incomplete
        self.end = -1  # total length of a request with a Content-Length
        self.chunked = False
        self.chunk_pos = 0  # the next chunk-size line of a chunked body
        self.sized = 0  # body bytes in complete chunks so far
        # The rest of the request will not be read (a body over the limit, which the app answers
        # with 413, or one the client cut short): the connection closes after the answer.
        self.overflow = False
        self.continue_sent = False

    def complete(self, buf: bytearray, max_body: int) -> bool:
        """Whether ``buf`` holds the whole request (or all the app needs of it).

        Requests whose framing is broken (an unreadable length, a bad chunk size) count as
        complete: gunicorn's parser then refuses them with the answer it always gave.
        """
        if self.body_start < 0 and not self._head(buf, max_body):
            return False
        if self.chunked:
            return self._chunks(buf, max_body)
        return self.end < 0 or len(buf) >= self.end

    def _head(self, buf: bytearray, max_body: int) -> bool:
        end = buf.find(b"\r\n\r\n")
        bare = buf.find(b"\n\n", 0, end if end >= 0 else len(buf))
        if bare >= 0:  # bare LF line ends: the parser refuses those
            self.body_start = bare + 2
            return True
        if end < 0:
            if len(buf) > MAX_HEAD:
                self.body_start = len(buf)
                return True
            return False
        self.body_start = end + 4
        head = bytes(buf[:end]).lower()
        if _TRANSFER_ENCODING.search(head):
            self.chunked = True
            self.chunk_pos = self.body_start
            return True
        lengths = set(_CONTENT_LENGTH.findall(head))
        if len(lengths) == 1:
            text = lengths.pop().strip()
            if text.isdigit():
                length = int(text)
                if length > max_body:
                    self.overflow = True
                else:
                    self.end = self.body_start + length
        # No Content-Length: no body. Several, or one the parser will refuse: dispatch now.
        return True

    def _chunks(self, buf: bytearray, max_body: int) -> bool:
        pos = self.chunk_pos
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return len(buf) - pos > 4096  # a size line that long is broken
            size_text = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return True
            if size < 0 or not size_text.isalnum():
                return True
            if size == 0:  # the last chunk, then trailer lines up to an empty one
                if buf[line_end + 2 : line_end + 4] == b"\r\n":
                    return True
                return buf.find(b"\r\n\r\n", line_end) >= 0 or len(buf) - line_end > MAX_HEAD
            data_start = line_end + 2
            available = len(buf) - data_start
            if self.sized + min(size, available) > max_body:
                self.overflow = True
                return True
            if available < size + 2:
                return False
            pos = data_start + size + 2
            self.sized += size
            self.chunk_pos = pos

    def expects_continue(self, buf: bytearray) -> bool:
        """A client waiting for "100 Continue" before it sends its body (curl does, from 1 KiB)."""
        if self.continue_sent or self.body_start < 0:
            return False
        head = bytes(buf[: self.body_start]).lower()
        return bool(_EXPECT_CONTINUE.search(head))


class SingleChunk:
    """The source a thread's parser reads a buffered request from: the request's bytes, once.

    It lets go of them as it hands them out. The connection keeps its parser for keep-alive,
    and ``iter((data,))`` held the bytes until the parser asked for more, which it never does
    after a body of known length: a kept-alive connection held its last request (9 MiB after
    a large create) until the next one.
    """

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __iter__(self) -> SingleChunk:
        return self

    def __next__(self) -> bytes:
        data, self._data = self._data, None
        if data is None:
            raise StopIteration
        return data


class _Conn(TConn):  # type: ignore[misc]
    """A connection and what has been read of its next request."""

    def __init__(self, worker: BufferingWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.inbox = bytearray()
        self.framing = _Framing()
        self.deadline = 0.0
        self.started = False  # a byte of the current request has arrived
        self.handshaken = not self.cfg.is_ssl
        self.overflow = False
        self.large = False  # the request has a large body: memory is released after it

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close()


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with each request buffered in full by the main loop before a thread runs it."""

    limits = ReadLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[_Conn, None] = {}
        self.lingering: dict[socket.socket, float] = {}
        self._ssl_context: ssl.SSLContext | None = None
        self._next_sweep = 0.0
        self._quitting = False

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            self._ssl_context = sock.ssl_context(self.cfg)
        super().init_process()

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGINT or SIGQUIT: a quick stop (``sys.exit``, then the ``worker_exit`` hook), once.

        Ctrl-C sends SIGINT to the workers and to the master, which then sends them SIGQUIT. A
        second run of gthread's handler interrupts the first: inside the thread pool's
        ``shutdown`` it waits for the lock the first holds, for ever (the master SIGKILLs the
        worker after ``graceful_timeout``); a little later its ``sys.exit`` cuts the
        ``worker_exit`` hook short (``server.stop_worker``). The signals that follow the first
        are ignored.
        """
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)

    # -- reading -----------------------------------------------------------------------------
    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Conn(self, self.cfg, client, address, listener.getsockname())
        if self._ssl_context is not None:
            conn.sock = self._ssl_context.wrap_socket(
                client,
                server_side=True,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=True,
            )
        self.enqueue_req(conn)

    def enqueue_req(self, conn: _Conn) -> None:
        """Start reading the connection's next request (gthread would hand it to a thread)."""
        conn.sock.setblocking(False)
        self._start_reading(conn, registered=False)

    def on_client_socket_readable(self, conn: _Conn, client: socket.socket) -> None:
        """A kept-alive connection has bytes of its next request: read them now. gthread would
        take the socket off the poller for a thread, and :meth:`enqueue_req` would put it back
        on to read; it stays on, with the reading callback (no system call), and non-blocking
        (``finish_request`` left it so)."""
        self.keepalived_conns.remove(conn)
        self._start_reading(conn, registered=True)

    def _start_reading(self, conn: _Conn, *, registered: bool) -> None:
        """Read the connection's next request in the loop; ``registered``: its socket is on the
        poller already (with another callback)."""
        conn.framing = _Framing()
        conn.overflow = False
        if conn.parser is not None:  # bytes of the next request read with the last one
            conn.inbox = bytearray(conn.parser.unreader.take_buffered())
        conn.started = bool(conn.inbox)
        now = time.monotonic()
        conn.deadline = now + (
            self.limits.request_timeout if conn.started else float(self.cfg.keepalive or 5)
        )
        if registered:
            self.reading[conn] = None  # so that _dispatch and _forget take it off the poller
        if conn.started and conn.framing.complete(conn.inbox, self.limits.max_body):
            self._dispatch(conn)
            return
        self.reading[conn] = None
        reader = partial(self._readable, conn)
        if registered:
            self.poller.modify(conn.sock, selectors.EVENT_READ, reader)
        else:
            self.poller.register(conn.sock, selectors.EVENT_READ, reader)
        if registered or not conn.started:
            self._readable(conn)  # a kept-alive connection has its request waiting already

    def _readable(self, conn: _Conn, _fileobj: Any = None) -> None:
        try:
            if not conn.handshaken:
                conn.sock.do_handshake()
                conn.handshaken = True
            while True:
                data = conn.sock.recv(RECV_SIZE)
                if not data:  # the client closed its side
                    if conn.inbox:  # of a request cut short: the app answers it (400)
                        conn.framing.overflow = True
                        self._dispatch(conn)
                    else:
                        self._forget(conn)
                    return
                if not conn.started:
                    conn.started = True
                    conn.deadline = time.monotonic() + self.limits.request_timeout
                conn.inbox += data
                if conn.framing.complete(conn.inbox, self.limits.max_body):
                    self._dispatch(conn)
                    return
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (OSError, ValueError):  # reset, a failed handshake, a closed socket
            self._forget(conn)
            return
        if conn.framing.expects_continue(conn.inbox):
            conn.framing.continue_sent = True
            try:
                conn.sock.send(_CONTINUE)
            except (OSError, ValueError):
                self._forget(conn)

    def _dispatch(self, conn: _Conn) -> None:
        """The request is here: a thread parses it from memory and runs the app."""
        if self.reading.pop(conn, 0) is None:
            self.poller.unregister(conn.sock)
        data = bytes(conn.inbox)
        conn.inbox = bytearray()
        conn.overflow = conn.framing.overflow
        conn.large = memory.release_after(len(data))
        # The parser reads from these bytes alone: a thread can never wait for the client.
        conn.parser = http.get_parser(self.cfg, SingleChunk(data), conn.client)
        conn.initialized = True
        conn.data_ready = True
        super().enqueue_req(conn)

    def _forget(self, conn: _Conn) -> None:
        if self.reading.pop(conn, 0) is None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    # -- in the thread -----------------------------------------------------------------------
    def handle(self, conn: _Conn) -> Any:
        memory.server_releases(conn.large)  # the app leaves it to this (one trim, not two)
        try:
            outcome = super().handle(conn)
        finally:
            memory.server_releases(False)
        if conn.large:
            # Only now are the request's buffers freed (gunicorn drops them after the app's
            # answer is closed): their pages go back too (mockserver/memory.py).
            memory.release()
        return outcome

    def handle_request(self, req: Any, conn: _Conn) -> bool:
        if conn.framing.continue_sent:
            req._expected_100_continue = False  # sent already, while the body was awaited
        if conn.overflow:
            req.must_close = True  # the rest of the body is never read: answer, then close
        # Writing the answer: a client that stops reading fails the write instead of holding
        # the thread.
        conn.sock.settimeout(self.limits.request_timeout)
        return bool(super().handle_request(req, conn))

    # -- timeouts and closing ----------------------------------------------------------------
    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 0.2
        for conn in [c for c in self.reading if c.deadline <= now or not self.alive]:
            if conn.started and conn.deadline > now:
                continue  # stopping: a request under way may still finish
            if conn.started:
                self._answer_timeout(conn)
            self._forget(conn)
        for client, until in list(self.lingering.items()):
            if until <= now:
                self._unlinger(client)

    def _answer_timeout(self, conn: _Conn) -> None:
        detail = f"the request did not arrive within {self.limits.request_timeout:g} s"
        body = orjson.dumps(
            {"type": "about:blank", "title": "Request Timeout", "status": 408, "detail": detail}
        )
        head = (
            "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with contextlib.suppress(OSError, ValueError):
            conn.sock.send(head.encode("latin-1") + body)

    def linger(self, client: socket.socket) -> None:
        """Close after the answer without a reset: stop sending, read and discard what the
        client still sends for a moment (in the main loop, never blocking it)."""
        try:
            client.setblocking(False)
            client.shutdown(socket.SHUT_WR)
            self.poller.register(client, selectors.EVENT_READ, partial(self._drain, client))
        except (OSError, ValueError, KeyError):
            self._close(client)
            return
        self.lingering[client] = time.monotonic() + LINGER_S

    def _drain(self, client: socket.socket, _fileobj: Any = None) -> None:
        drained = 0
        try:
            while drained < LINGER_BYTES:
                data = client.recv(RECV_SIZE)
                if not data:
                    break
                drained += len(data)
            else:
                self._unlinger(client)
                return
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except (OSError, ValueError):
            pass
        self._unlinger(client)

    def _unlinger(self, client: socket.socket) -> None:
        if self.lingering.pop(client, None) is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(client)
        self._close(client)

    @staticmethod
    def _close(client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            client.close()

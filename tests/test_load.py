"""The preview server under load, on 127.0.0.1 only, bounded in requests and time.

20 clients x 50 requests (pages, assets, a missing page and the Whoosh search API) while the
site is rebuilt into the same folder three times: every answer is 200 (404 for the missing
page). p50/p99 latency are printed, not asserted. Malformed requests, huge headers, invalid
percent-encoding, traversal attempts and slow clients get the right status (or a closed
connection) and do not stall the others.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, build_into

from site_src.serve import start_server

CLIENTS = 20
REQUESTS = 50
REBUILDS = 3
HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """The seed corpus (a copy) built and served by the preview server; (port, content, out)."""
    folder = tmp_path_factory.mktemp("load")
    content = folder / "content"
    shutil.copytree(ROOT / "content", content)
    out = folder / "site"
    build_into(content, out)
    server = start_server(out, "/", HOST, 0)
    assert server.server_address[0] == HOST
    try:
        yield server.server_address[1], content, out
    finally:
        server.shutdown()
        server.server_close()


def site_paths(out: Path) -> list[str]:
    """Return request paths for every page of the built site plus a few assets."""
    paths = ["/" + p.relative_to(out).as_posix().removesuffix("index.html")
             for p in sorted(out.rglob("index.html")) if "search/static" not in p.as_posix()]
    return paths + ["/static/site.css", "/feed.xml", "/data/index.json", "/favicon.svg"]


QUERIES = ["taliban", "drone+strike", "%22war+is+hard%22", "milley+AND+kabul", "source%3Aap",
           "zzzznothing", "a" * 50, "%28unbalanced"]


def run_client(port: int, paths: list[str], seed: int, latencies: list[float],
               failures: list[str]) -> None:
    """Send REQUESTS requests on one keep-alive connection (reconnecting when closed)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    for n in range(REQUESTS):
        pick = (seed * 7 + n * 13) % (len(paths) + len(QUERIES) + 1)
        if pick < len(paths):
            path, want = paths[pick], {200}
        elif pick < len(paths) + len(QUERIES):  # a query the parser refuses gets 400
            path, want = f"/search/api?q={QUERIES[pick - len(paths)]}", {200, 400}
        else:
            path, want = f"/no/such/page-{n}/", {404}
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"{path}: {type(error).__name__}: {error}")
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status not in want:
            failures.append(f"{path}: {response.status} {body[:200]!r}")
        elif path.startswith("/search/api") and not isinstance(json.loads(body), dict):
            failures.append(f"{path}: unexpected body {body[:80]!r}")
    connection.close()


def rebuild(content: Path, out: Path, errors: list[str]) -> None:
    """Edit one article and rebuild into the served folder, REBUILDS times."""
    target = sorted(content.glob("*.md"))[-1]
    original = target.read_text("utf-8")
    try:
        for n in range(REBUILDS):
            target.write_text(original + f"\nA sentence added by rebuild {n}.\n", "utf-8")
            build_into(content, out)
    except Exception as error:  # noqa: BLE001 - reported by the test
        errors.append(repr(error))
    finally:
        target.write_text(original, "utf-8")


def test_many_clients_while_rebuilding(served: tuple[int, Path, Path]) -> None:
    port, content, out = served
    paths = site_paths(out)
    latencies: list[float] = []
    failures: list[str] = []
    build_errors: list[str] = []
    builder = threading.Thread(target=rebuild, args=(content, out, build_errors))
    clients = [threading.Thread(target=run_client, args=(port, paths, seed, latencies, failures))
               for seed in range(CLIENTS)]
    started = time.perf_counter()
    builder.start()
    for client in clients:
        client.start()
    for thread in [*clients, builder]:
        thread.join(300)
    elapsed = time.perf_counter() - started
    assert not any(t.is_alive() for t in [*clients, builder]), "a client or the build hung"
    ordered = sorted(latencies)
    if ordered:
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        print(f"\nload: {len(ordered)} answers in {elapsed:.1f} s with {REBUILDS} rebuilds; "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, failures {len(failures)}")
    assert build_errors == []
    assert failures == [], failures[:10]
    assert len(latencies) == CLIENTS * REQUESTS


def raw_exchange(port: int, data: bytes, wait: float = 10.0) -> bytes:
    """Send raw bytes and return what the server answers until it closes (or wait passes)."""
    with socket.create_connection((HOST, port), timeout=wait) as sock:
        with contextlib.suppress(OSError):  # the server may close before reading everything
            sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and not data.startswith(b"GET /static"):
                    head = b"".join(chunks).split(b"\r\n\r\n", 1)[0]
                    if b"Content-Length: 0" in head or len(b"".join(chunks)) > 100_000:
                        break
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    """Return the status code of a raw HTTP answer (None when the connection just closed).

    A request line without a version is HTTP/0.9, answered (by http.server) with the error
    page alone, no status line: its "Error code: N" is the status then.
    """
    if answer.startswith(b"HTTP/"):
        return int(answer.split(b" ", 2)[1])
    found = re.search(rb"Error code: (\d{3})", answer)
    return int(found.group(1)) if found else None


@pytest.mark.parametrize(("request_bytes", "allowed"), [
    (b"HELLO\r\n\r\n", {400}),
    (b"GET\r\n\r\n", {400}),
    (b"GET / HTTP/9.9\r\n\r\n", {400, 505}),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40) + b"\r\n\r\n", {400, None}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", {431}),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n",
     {431}),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", {414}),
    (b"GET /%zz%%/%c0%ae%c0%ae/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {404, 400}),
    (b"GET /search/api?q=%zz%ff%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
     {200, 400}),
    (b"DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {501}),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n",
     {501}),
])
def test_malformed_requests_get_the_right_status(served: tuple[int, Path, Path],
                                                 request_bytes: bytes,
                                                 allowed: set[int | None]) -> None:
    port, _, _ = served
    assert status_of(raw_exchange(port, request_bytes)) in allowed
    assert_still_answers(port)


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc/passwd",
    "/..%5c..%5c..%5cetc/passwd", "//etc/passwd", "/static/%2e%2e/%2e%2e/content/x.md",
    "/articles/%00/", "/%252e%252e/%252e%252e/etc/passwd",
])
def test_traversal_attempts_get_404(served: tuple[int, Path, Path], path: str) -> None:
    port, _, _ = served
    answer = raw_exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          .encode())
    assert status_of(answer) == 404
    assert b"root:" not in answer


def assert_still_answers(port: int, within: float = 10.0) -> None:
    """A normal request still gets its page, within a bound."""
    connection = http.client.HTTPConnection(HOST, port, timeout=within)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and b"</html>" in response.read()
    finally:
        connection.close()


def test_slow_clients_do_not_stall_others(served: tuple[int, Path, Path]) -> None:
    port, _, _ = served
    slow = []
    try:
        for n in range(30):  # half-sent requests that never finish
            sock = socket.create_connection((HOST, port), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" if n % 2 else b"GE")
            slow.append(sock)
        started = time.perf_counter()
        for _ in range(5):
            assert_still_answers(port, within=5.0)
        print(f"\nslow clients: 5 normal requests took {time.perf_counter() - started:.3f} s "
              "beside 30 hanging connections")
    finally:
        for sock in slow:
            sock.close()


def test_a_slow_client_is_dropped_after_a_timeout(served: tuple[int, Path, Path]) -> None:
    port, _, out = served
    from site_src.serve import make_handler

    timeout = make_handler(out, "/").timeout
    assert timeout is not None and timeout <= 30, "the handler has no timeout"
    with socket.create_connection((HOST, port), timeout=timeout + 10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.perf_counter()
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pytest.fail("the server kept the half-sent request open")
        assert status_of(answer) in (None, 408)
        assert time.perf_counter() - started <= timeout + 5

"""The preview server serves only the site folder, under the base URL, GET and HEAD only."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from site_src.serve import resolve_file, start_server


@pytest.fixture
def tiny_site(tmp_path: Path) -> Path:
    """A folder with a page, a 404 page and a secret next to it."""
    site = tmp_path / "site"
    (site / "articles" / "a").mkdir(parents=True)
    (site / "articles" / "a" / "index.html").write_text("<h1>A</h1>", encoding="utf-8")
    (site / "404.html").write_text("<h1>Not here</h1>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    return site


@pytest.mark.parametrize(
    "path",
    ["/r/../secret.txt", "/r/%2e%2e/secret.txt", "/r/..%2fsecret.txt", "/secret.txt",
     "/r/articles/a/../../../secret.txt", "/r/%00", "/r/..\\secret.txt"],
)
def test_traversal_is_refused(tiny_site: Path, path: str) -> None:
    assert resolve_file(tiny_site, "/r/", path) is None


def test_directory_serves_index(tiny_site: Path) -> None:
    found = resolve_file(tiny_site, "/r/", "/r/articles/a/?x=1")
    assert found == (tiny_site / "articles/a/index.html").resolve()


def _request(port: int, method: str, path: str) -> tuple[int, bytes, dict[str, str]]:
    """Send one request to the server on 127.0.0.1."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


def test_server_answers_get_head_404_and_refuses_other_methods(tiny_site: Path) -> None:
    server = start_server(tiny_site, "/r/", port=0)
    port = server.server_address[1]
    try:
        status, body, headers = _request(port, "GET", "/r/articles/a/")
        assert (status, body) == (200, b"<h1>A</h1>")
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        status, body, headers = _request(port, "HEAD", "/r/articles/a/")
        assert (status, body, headers["Content-Length"]) == (200, b"", "10")
        status, body, _ = _request(port, "GET", "/r/%2e%2e/secret.txt")
        assert (status, body) == (404, b"<h1>Not here</h1>")
        status, _, _ = _request(port, "POST", "/r/articles/a/")
        assert status == 501
    finally:
        server.shutdown()
        server.server_close()

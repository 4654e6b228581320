"""The preview server: serves the built site on 127.0.0.1 and answers the search API."""

from __future__ import annotations

import mimetypes
import posixpath
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from site_src import search

SEARCH_API = "search/api"
mimetypes.add_type("application/atom+xml", ".xml")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("text/javascript", ".js")
_TYPES = {".xml": "application/xml; charset=utf-8", ".json": "application/json; charset=utf-8"}


def resolve_file(root: Path, base_url: str, raw_path: str) -> Path | None:
    """Map a request path to a file inside root, or None (outside base, traversal, missing)."""
    path = unquote(urlsplit(raw_path).path)
    if not path.startswith(base_url) or "\x00" in path:
        return None
    rel = path[len(base_url):]
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if any(p == ".." or "\\" in p for p in parts):
        return None
    candidate = root.joinpath(*parts) if parts else root
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve()
    except OSError:
        return None
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        return None
    return resolved


def make_handler(root: Path, base_url: str) -> type[BaseHTTPRequestHandler]:
    """Create a request handler class bound to one site folder and base URL."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "newsdiff-preview"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            """Answer GET with a file, the search API or the 404 page."""
            self._answer(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            """Answer HEAD like GET without the body."""
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            """Route one request."""
            split = urlsplit(self.path)
            if posixpath.normpath(unquote(split.path)) == base_url + SEARCH_API:
                params = dict(parse_qsl(split.query))
                status, body = search.answer_api(root / "search" / "whoosh", params)
                self._send(status, body, "application/json; charset=utf-8", send_body)
                return
            found = resolve_file(root, base_url, self.path)
            if found is None:
                page = root / "404.html"
                body = page.read_bytes() if page.is_file() else b"Not found"
                self._send(HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8", send_body)
                return
            kind = _TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0]
            if kind and kind.startswith("text/") and "charset" not in kind:
                kind += "; charset=utf-8"
            self._send(HTTPStatus.OK, found.read_bytes(), kind or "application/octet-stream",
                       send_body)

        def _send(self, status: int, body: bytes, kind: str, send_body: bool) -> None:
            """Send headers and, unless HEAD, the body."""
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Keep the console quiet; the CLI prints what matters."""

    return Handler


def start_server(
    root: Path, base_url: str = "/", host: str = "127.0.0.1", port: int = 8000
) -> ThreadingHTTPServer:
    """Start serving root in a background thread and return the server."""
    server = ThreadingHTTPServer((host, port), make_handler(root, base_url))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_forever(
    root: Path, base_url: str, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Serve until interrupted, printing the URL first."""
    server = start_server(root, base_url, host, port)
    announce(f"Serving {root} at http://{host}:{server.server_address[1]}{base_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        announce("Stopped.")
    finally:
        server.shutdown()

"""The preview server: serves the built site on 127.0.0.1 and answers the search API.

In preview (`live` given) every HTML response gets one `<script src="/__reload.js">` (same
origin, no inline code, so the pages' Content-Security-Policy allows it). The script listens
to `/__events` (server-sent events): `reload` after a rebuild, `status` with the last build's
errors, shown over the page while the last good site stays served. The built files never
contain the script.
"""

from __future__ import annotations

import html
import json
import mimetypes
import posixpath
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

SEARCH_API = "search/api"
RELOAD_JS = "/__reload.js"
EVENTS = "/__events"
PING_SECONDS = 10.0
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


@dataclass(frozen=True)
class Status:
    """What the preview shows: the build token pages reload on, and the errors to overlay."""

    token: str = "0"
    title: str = ""  # empty when there is nothing to show
    messages: tuple[str, ...] = ()


class LiveReload:
    """The preview's build status, which event streams wait on; thread-safe."""

    def __init__(self, token: str = "0") -> None:
        self._status = Status(token=token)
        self._changed = threading.Condition()
        self.closed = False
        self.overlay: dict[str, bytes] = {}  # quick-preview pages served before the site's

    def set_overlay(self, files: dict[str, bytes]) -> None:
        """Serve these pages (output path -> bytes) in place of the site's until cleared."""
        self.overlay = dict(files)

    def status(self) -> Status:
        """Return the current status."""
        with self._changed:
            return self._status

    def publish(self, status: Status) -> None:
        """Set a new status and wake every waiting stream."""
        with self._changed:
            self._status = status
            self._changed.notify_all()

    def wait(self, seen: Status, timeout: float) -> Status:
        """Wait until the status is no longer seen (or timeout); return the current one."""
        with self._changed:
            self._changed.wait_for(lambda: self._status is not seen or self.closed, timeout)
            return self._status

    def close(self) -> None:
        """End every event stream."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()


def inject_script(body: bytes, token: str) -> bytes:
    """Insert the reload script tag before </head> (or </body>, or at the end)."""
    tag = f'<script src="{RELOAD_JS}?v={token}" defer></script>'.encode()
    for marker in (b"</head>", b"</body>"):
        at = body.find(marker)
        if at >= 0:
            return body[:at] + tag + body[at:]
    return body + tag


def error_page(status: Status) -> bytes:
    """Return the page shown when no site was ever built: the errors, escaped."""
    items = "".join(f"<li><pre>{html.escape(m)}</pre></li>" for m in status.messages)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Build "
            f"failed</title></head><body><h1>{html.escape(status.title or 'No site yet')}</h1>"
            f"<ul>{items}</ul></body></html>").encode()


def overlay_key(base_url: str, raw_path: str) -> str | None:
    """Return the output path a request names (index.html for folders), or None."""
    path = unquote(urlsplit(raw_path).path)
    if not path.startswith(base_url):
        return None
    rel = path[len(base_url):]
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        return None
    return rel


def make_handler(
    root: Path, base_url: str, live: LiveReload | None = None
) -> type[BaseHTTPRequestHandler]:
    """Create a request handler class bound to one site folder and base URL."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "newsdiff-preview"
        protocol_version = "HTTP/1.1"
        timeout = 15  # seconds: a client that stalls mid-request is dropped (event streams
        # write a ping every PING_SECONDS, well inside it)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            """Answer GET with a file, the search API or the 404 page."""
            self._answer(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            """Answer HEAD like GET without the body."""
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            """Route one request."""
            split = urlsplit(self.path)
            if live is not None and split.path in (RELOAD_JS, EVENTS):
                if split.path == RELOAD_JS:
                    self._send(HTTPStatus.OK, _reload_script(), "text/javascript; charset=utf-8",
                               send_body)
                else:
                    self._stream(dict(parse_qsl(split.query)).get("v", ""), send_body)
                return
            if posixpath.normpath(unquote(split.path)) == base_url + SEARCH_API:
                from site_src import search

                params = dict(parse_qsl(split.query))
                status, body = search.answer_api(root / "search" / "whoosh", params)
                self._send(status, body, "application/json; charset=utf-8", send_body)
                return
            if live is not None and live.overlay:
                rel = overlay_key(base_url, self.path)
                quick = live.overlay.get(rel) if rel else None
                if quick is not None:
                    kind = _TYPES.get(Path(rel).suffix) or "text/html; charset=utf-8"
                    self._send(HTTPStatus.OK, quick, kind, send_body)
                    return
            found = resolve_file(root, base_url, self.path)
            if found is None:
                page = root / "404.html"
                if page.is_file():
                    body = page.read_bytes()
                elif live is not None:
                    body = error_page(live.status())
                else:
                    body = b"Not found"
                self._send(HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8", send_body)
                return
            kind = _TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0]
            if kind and kind.startswith("text/") and "charset" not in kind:
                kind += "; charset=utf-8"
            self._send(HTTPStatus.OK, found.read_bytes(), kind or "application/octet-stream",
                       send_body)

        def _send(self, status: int, body: bytes, kind: str, send_body: bool) -> None:
            """Send headers and, unless HEAD, the body (HTML gets the script in preview)."""
            if live is not None and kind.startswith("text/html"):
                body = inject_script(body, live.status().token)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Search-Api", "1")  # tells search.js that /search/api answers
            self.end_headers()
            if send_body:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client went away
                    self.close_connection = True

        def _stream(self, seen_token: str, send_body: bool) -> None:
            """Send server-sent events until the client leaves or the server stops."""
            assert live is not None
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if not send_body:
                return
            shown: tuple[str, tuple[str, ...]] | None = None
            status = live.status()
            try:
                self.wfile.write(b"retry: 500\n\n")
                while not live.closed:
                    if status.token != seen_token:
                        self._event("reload", status.token)
                        return
                    if (status.title, status.messages) != shown:
                        shown = (status.title, status.messages)
                        self._event("status", json.dumps(
                            {"title": status.title, "messages": list(status.messages)}))
                    latest = live.wait(status, PING_SECONDS)
                    if latest is status:
                        self.wfile.write(b": ping\n\n")
                        self.wfile.flush()
                    status = latest
            except OSError:  # the browser went away
                return

        def _event(self, name: str, data: str) -> None:
            """Write one event."""
            lines = "".join(f"data: {line}\n" for line in data.split("\n"))
            self.wfile.write(f"event: {name}\n{lines}\n".encode())
            self.wfile.flush()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Keep the console quiet; the CLI prints what matters."""

    return Handler


# The preview's reload script (served by the preview server, never written into the site).
RELOAD_SCRIPT = """\
// Preview only: reload after a rebuild; show the last build's errors over the page.
(function () {
  "use strict";
  var token = new URL(document.currentScript.src).searchParams.get("v") || "";
  var events = new EventSource("/__events?v=" + encodeURIComponent(token));
  var box = null;
  events.addEventListener("reload", function () {
    events.close();
    window.location.reload();
  });
  events.addEventListener("status", function (event) {
    var status = JSON.parse(event.data);
    if (box) { box.remove(); box = null; }
    if (!status.title) { return; }
    box = document.createElement("aside");
    box.id = "preview-build-status";
    box.setAttribute("role", "alert");
    Object.assign(box.style, {
      position: "fixed", left: "1rem", right: "1rem", bottom: "1rem", zIndex: "2147483647",
      maxHeight: "50vh", overflow: "auto", padding: "1rem", background: "#fff4f4",
      color: "#5c0000", border: "2px solid #b00020", borderRadius: "6px",
      font: "14px/1.4 system-ui, sans-serif", boxShadow: "0 4px 16px rgba(0,0,0,.3)"
    });
    var heading = document.createElement("strong");
    heading.textContent = status.title;
    box.appendChild(heading);
    var list = document.createElement("ul");
    status.messages.forEach(function (message) {
      var item = document.createElement("li");
      var text = document.createElement("pre");
      text.textContent = message;
      Object.assign(text.style, {whiteSpace: "pre-wrap", margin: "0.25rem 0"});
      item.appendChild(text);
      list.appendChild(item);
    });
    box.appendChild(list);
    document.body.appendChild(box);
  });
})();
"""


def _reload_script() -> bytes:
    """Return the preview's reload script."""
    return RELOAD_SCRIPT.encode("utf-8")


def start_server(
    root: Path, base_url: str = "/", host: str = "127.0.0.1", port: int = 8000,
    live: LiveReload | None = None,
) -> ThreadingHTTPServer:
    """Start serving root in a background thread and return the server."""
    server = ThreadingHTTPServer((host, port), make_handler(root, base_url, live))
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

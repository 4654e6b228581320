"""Shared fixtures: the fixture corpus built once, static servers on 127.0.0.1, Chromium."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from site_src.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "corpus"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def make_config(content: Path, out: Path, base_url: str = "/", **extra: object) -> Config:
    """Settings for a test build of `content` into `out` (no progress bar, one process)."""
    return load_config(ROOT, content_dir=content, out_dir=out, base_url=base_url,
                       progress=False, jobs=1, cache_dir=out.parent / ".cache", **extra)


def build_into(content: Path, out: Path, base_url: str = "/", **extra: object):  # noqa: ANN201
    """Build a corpus folder into an output folder; return the BuildResult."""
    from site_src.pipeline import build

    return build(make_config(content, out, base_url, **extra))


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus built once under the base URL /some-repo/."""
    out = tmp_path_factory.mktemp("fixture-build") / "site"
    build_into(FIXTURE_CORPUS, out, "/some-repo/")
    return out


@pytest.fixture(scope="session")
def seed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped content/ (the five seeds) built once under /some-repo/."""
    out = tmp_path_factory.mktemp("seed-build") / "site"
    build_into(ROOT / "content", out, "/some-repo/")
    return out


class _PrefixHandler(SimpleHTTPRequestHandler):
    """A plain static file handler that serves its folder under a URL prefix."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        """Strip the prefix; anything outside it maps to a path that does not exist."""
        if not path.startswith(self.prefix):
            return os.path.join(self.directory, "\x00outside")
        return super().translate_path("/" + path[len(self.prefix):])

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet in test output."""


@contextlib.contextmanager
def serve_static(root: Path, prefix: str = "/") -> Iterator[str]:
    """Serve a folder with a plain static server on 127.0.0.1; yield the site's base URL."""
    handler = type("Handler", (_PrefixHandler,), {"prefix": prefix})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201 - playwright's Browser
    """A headless Debian Chromium driven by Playwright; skipped where it is not installed."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):  # noqa: ANN001, ANN201
    """A fresh page that records console errors and page errors in `page.errors`."""
    context = browser.new_context()
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    new_page.on("pageerror", lambda e: errors.append(str(e)))
    new_page.errors = errors  # type: ignore[attr-defined]
    yield new_page
    context.close()

"""The preview: live reload over server-sent events, errors shown in the page, many clients."""

from __future__ import annotations

import http.client
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURE_CORPUS, ROOT, make_config

from site_src.output import iter_tree
from site_src.watch import Preview

TIMEOUT_MS = 60_000


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[Preview]:
    """A watching preview of a copy of the fixture corpus, with an empty user template folder."""
    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    templates = tmp_path / "templates"
    templates.mkdir()
    config = make_config(corpus, tmp_path / "out" / "site", templates_dir=templates)
    overrides = {"content_dir": corpus, "out_dir": config.out_dir, "templates_dir": templates,
                 "cache_dir": config.cache_dir, "progress": False, "jobs": 1}
    messages: list[str] = []
    running = Preview(config, overrides, "127.0.0.1", 0, say=messages.append)
    running.rebuild()
    watcher = threading.Thread(target=running.watch, daemon=True)
    watcher.start()
    try:
        yield running
    finally:
        running.close()
        watcher.join(timeout=10)


def get(preview: Preview, path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    """Send one bounded request to the preview."""
    port = preview.server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


def read_events(preview: Preview, token: str, until: str) -> list[str]:
    """Read one event stream until an event named `until` arrives (bounded by a timeout)."""
    port = preview.server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"/__events?v={token}")
    response = connection.getresponse()
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    names: list[str] = []
    try:
        while True:
            line = response.fp.readline().decode()
            if not line:
                break
            if line.startswith("event: "):
                names.append(line[7:].strip())
                if names[-1] == until:
                    break
    finally:
        connection.close()
    return names


def test_only_preview_responses_carry_the_reload_script(preview: Preview) -> None:
    status, body, _ = get(preview, "/articles/ferry-timetable/")
    assert status == 200
    tags = re.findall(rb"<script[^>]*>", body)
    assert b'<script src="/__reload.js?v=' in body
    assert all(b" src=" in tag for tag in tags)  # no inline script anywhere
    status, script, headers = get(preview, "/__reload.js")
    assert (status, headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert b"EventSource" in script
    for _rel, data in iter_tree(preview.config.out_dir):
        assert b"__reload" not in data


def test_preview_refuses_traversal_and_other_methods(preview: Preview, tmp_path: Path) -> None:
    (tmp_path / "out" / "secret.txt").write_text("secret", encoding="utf-8")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%252e%252e/"):
        status, body, _ = get(preview, path)
        assert status == 404 and b"secret" not in body
    assert get(preview, "/", "POST")[0] == 501
    assert get(preview, "/", "HEAD")[1] == b""


def test_many_clients_get_the_reload_event(preview: Preview) -> None:
    token = preview.live.status().token
    results: list[list[str]] = []
    clients = [threading.Thread(target=lambda: results.append(read_events(preview, token,
                                                                          "reload")))
               for _ in range(12)]
    for client in clients:
        client.start()
    page = preview.config.content_dir / "ferry-timetable.md"
    page.write_text(page.read_text("utf-8") + "\nA late addition.\n", encoding="utf-8")
    for client in clients:
        client.join(timeout=60)
    assert len(results) == 12
    assert all(names[-1:] == ["reload"] for names in results)
    status, body, _ = get(preview, "/articles/ferry-timetable/")
    assert status == 200 and b"A late addition." in body


def settle(preview: Preview, page) -> None:  # noqa: ANN001
    """Wait until the exact rebuild after an edit is done and the page shows its build."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while preview.live.status().token.startswith("q") or preview.live.overlay:
        assert time.monotonic() < deadline, "the exact rebuild did not finish"
        time.sleep(0.1)
    token = preview.live.status().token
    page.wait_for_function(
        "token => [...document.scripts].some(s => s.src.endsWith('v=' + token))", arg=token,
        timeout=TIMEOUT_MS)


@pytest.mark.browser
def test_page_reloads_shows_errors_and_recovers(preview: Preview, page) -> None:  # noqa: ANN001
    page.goto(preview.url + "articles/ferry-timetable/")
    article = preview.config.content_dir / "ferry-timetable.md"
    old = article.read_text("utf-8")

    # An edit appears in the open page without touching the browser.
    article.write_text(old + "\nThe harbour master approved the new crossings.\n", "utf-8")
    page.get_by_text("The harbour master approved the new crossings.").wait_for(
        timeout=TIMEOUT_MS)
    settle(preview, page)

    # A broken template fails the build: the error shows over the last good page.
    broken = preview.config.templates_dir / "article.html"
    broken.write_text('{% extends "base.html" %}\n{% block main %}{% if %}{% endblock %}\n',
                      encoding="utf-8")
    status = page.locator("#preview-build-status")
    status.wait_for(timeout=TIMEOUT_MS)
    assert "Build failed" in status.inner_text()
    assert re.search(r"article\.html:2: ", status.inner_text())
    assert page.get_by_text("The harbour master approved the new crossings.").is_visible()
    _, body, _ = get(preview, "/articles/ferry-timetable/")
    assert b"The harbour master approved" in body  # the last good site is still served

    # Fixing it clears the error; a bad content file is listed with its file and line.
    broken.unlink()
    status.wait_for(state="detached", timeout=TIMEOUT_MS)
    (preview.config.content_dir / "library-reopens.md").write_text(
        "---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")
    status.wait_for(timeout=TIMEOUT_MS)
    assert re.search(r"library-reopens\.md:\d+: ", status.inner_text())
    assert page.errors == []  # no CSP violation, no script error


def test_code_change_rebuilds_in_a_child_process(preview: Preview) -> None:
    outcome = preview.rebuild(code=True)
    assert outcome["ok"], outcome
    assert preview.code_changed
    assert (preview.config.out_dir / "index.html").is_file()
    assert ROOT.joinpath("site_src", "watch.py").is_file()


def test_quick_preview_serves_the_edit_before_the_exact_rebuild(tmp_path: Path) -> None:
    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    config = make_config(corpus, tmp_path / "out" / "site")
    overrides = {"content_dir": corpus, "out_dir": config.out_dir,
                 "cache_dir": config.cache_dir, "progress": False, "jobs": 1}
    preview = Preview(config, overrides, "127.0.0.1", 0, say=lambda _m: None)
    try:
        preview.rebuild()
        assert preview.result is not None and preview.result.site is not None
        article = corpus / "harbour-bridge-daily.md"
        article.write_text(article.read_text("utf-8").replace("furious", "incandescent"),
                           encoding="utf-8")
        before = preview.live.status().token
        assert preview.quick([article])
        assert preview.live.status().token != before
        _, body, _ = get(preview, "/articles/harbour-bridge-daily/")
        assert b"incandescent" in body  # served from memory at once
        on_disk = config.out_dir / "articles/harbour-bridge-daily/index.html"
        assert b"incandescent" not in on_disk.read_bytes()
        assert preview.rebuild()["ok"]
        assert preview.live.overlay == {}
        assert b"incandescent" in on_disk.read_bytes()
        (corpus / "brand-new.md").write_text("---\ntitle: New\nsource: X\n---\nText.\n", "utf-8")
        assert not preview.quick([corpus / "brand-new.md"])  # new files need the exact build
    finally:
        preview.close()


def test_preview_refuses_to_serve_a_foreign_folder(tmp_path: Path) -> None:
    from site_src.watch import serve_and_watch

    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    said: list[str] = []
    config = make_config(FIXTURE_CORPUS, foreign)
    assert serve_and_watch(config, {}, "127.0.0.1", 0, watch=False, say=said.append) == 1
    assert "not made by this tool" in said[0]


def test_quick_pages_equal_the_exact_build_and_follow_template_edits(tmp_path: Path) -> None:
    from site_src.pipeline import build
    from site_src.watch import quick_pages

    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    templates = tmp_path / "templates"
    templates.mkdir()
    bundled = ROOT / "templates" / "article.html"
    (templates / "article.html").write_text(bundled.read_text("utf-8"), "utf-8")
    config = make_config(corpus, tmp_path / "out" / "site", templates_dir=templates)
    site = build(config).site
    article = corpus / "harbour-bridge-daily.md"
    for old, new in (("furious", "livid"), ("livid", "irate")):  # then compiled templates
        article.write_text(article.read_text("utf-8").replace(old, new), "utf-8")
        site, files = quick_pages(site, config, [article])
        site = build(config).site
        assert files and all((config.out_dir / rel).read_bytes() == data
                             for rel, data in files.items())
    (templates / "article.html").write_text(bundled.read_text("utf-8").replace(
        "{% block main %}", "{% block main %}<p>Edited template</p>", 1), "utf-8")
    article.write_text(article.read_text("utf-8").replace("irate", "cross"), "utf-8")
    _site, files = quick_pages(site, config, [article])
    assert b"<p>Edited template</p>" in files["articles/harbour-bridge-daily/index.html"]

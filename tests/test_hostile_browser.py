"""No script injection: a corpus of hostile articles, built and opened in Chromium.

Every payload calls `window.__pwned(...)` (or alert()). The browser exposes __pwned as a
binding that records the call; dialogs, navigations away and popups are recorded too, and so
are Content-Security-Policy violations (something hostile reached the page and was only
stopped by the policy). Every page of the built site is visited, with the policy on and with
it bypassed (so escaping alone must hold), plus the search page with hostile queries and
results: nothing runs, nothing navigates, nothing is blocked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import build_into, serve_static

BASE = "/hostile/"
PWN = "__pwned"

TITLE = "\"'><script>__pwned('title')</script><img src=x onerror=__pwned('t-img')>{{7*7}}"
SOURCE = "\"><svg onload=__pwned('source')>"
AUTHOR = "</script><script>__pwned('author')</script>"
URL = "https://example.org/?a=\"><script>__pwned('url')</script>&b='onmouseover='__pwned()"
SOURCES_YML = """\
evil:
  name: "<script>__pwned('outlet')</script>\\" onfocus=\\"__pwned()"
  homepage: "https://example.org/\\"><img/src=x/onerror=__pwned('homepage')>"
  kind: blog
"""

BODY = """\
WASHINGTON (AP) — <script>__pwned('body')</script> More than 150 people <img src=x \
onerror="__pwned('img')"> were hurt, officials said.

“<script>__pwned('quote')</script> We will not stop,” said <b onmouseover=__pwned()>Evil \
Person</b> on Tuesday. "</textarea></title></style></script><script>__pwned('close')</script>"

[click](javascript:__pwned('link')) [enc](jav&#x61;script:__pwned('enc')) \
[data](data:text/html,<script>__pwned('data')</script>) ![pic](javascript:__pwned('imgsrc'))
<javascript:__pwned('auto')> [ok](https://example.org/ok "x\\" onmouseover=\\"__pwned()")

<svg><script>__pwned('svg')</script><animate onbegin=__pwned('anim') attributeName=x></svg>
<math><mtext><table><mglyph><style><img src=x onerror=__pwned('mathml')></style></mglyph>
</table></mtext></math>

<iframe srcdoc="<script>parent.__pwned('iframe')</script>"></iframe>
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=javascript:__pwned()">
<form action="javascript:__pwned('form')"><button>go</button></form>

    <script>__pwned('code block')</script>

`</script><script>__pwned('code')</script>` and ' onerror=__pwned() x=' and " autofocus \
onfocus=__pwned() x=" in text. The figure of $3.5 million <b>pwned</b> was reported.
"""

COPY_BODY = BODY.replace("More than 150", "Hundreds of").replace("We will not", "We shall not") \
    + "\n\nAn added line with <script>__pwned('copy')</script> about 200 people.\n"


def hostile_corpus(folder: Path) -> Path:
    """Write the hostile corpus: two members of one story, an outlet file and a bystander."""
    content = folder / "content"
    content.mkdir(parents=True)
    (content / "sources.yml").write_text(SOURCES_YML, encoding="utf-8")

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    for name, title, body, date in (
        ("hostile-one", TITLE, BODY, "2024-03-01"),
        ("hostile-two", TITLE + " (copy)", COPY_BODY, "2024-03-02"),
    ):
        (content / f"{name}.md").write_text(
            f"---\ntitle: {quoted(title)}\nsource: evil\npublished: {date}\n"
            f"authors: [{quoted(AUTHOR)}]\nurl: {quoted(URL)}\nstory: hostile-story\n---\n"
            f"{body}", encoding="utf-8")
    (content / "bystander.md").write_text(
        f"---\ntitle: A calm article\nsource: {quoted(SOURCE)}\npublished: 2024-02-01\n---\n"
        "The library reopened on Tuesday with a new garden.\n", encoding="utf-8")
    return content


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile corpus built under BASE."""
    folder = tmp_path_factory.mktemp("hostile")
    result = build_into(hostile_corpus(folder), folder / "site", BASE)
    assert [p for p in result.problems if p.severity == "error"] == []
    return folder / "site"


@pytest.fixture(scope="module")
def site_url(hostile_site: Path) -> Iterator[str]:
    """The hostile site on a plain static server on 127.0.0.1."""
    with serve_static(hostile_site, BASE) as url:
        yield url


class Watch:
    """What a page did that it should not: payload calls, dialogs, navigations, violations."""

    def __init__(self) -> None:
        self.pwned: list[str] = []
        self.dialogs: list[str] = []
        self.navigations: list[str] = []
        self.popups: list[str] = []
        self.violations: list[str] = []

    def clean(self) -> bool:
        """Tell whether nothing happened."""
        return not (self.pwned or self.dialogs or self.navigations or self.popups
                    or self.violations)


@pytest.fixture(params=[False, True], ids=["csp", "csp-bypassed"])
def watched(request: pytest.FixtureRequest, browser):  # noqa: ANN001, ANN201
    """A page whose hostile behaviour is recorded; with the CSP on, or bypassed."""
    context = browser.new_context(bypass_csp=request.param)
    watch = Watch()
    context.expose_binding(PWN, lambda source, *args: watch.pwned.append(
        f"{source['frame'].url}: {args!r}"))
    context.expose_binding("__violation", lambda source, text: watch.violations.append(
        f"{source['frame'].url}: {text}"))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " window.__violation(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample); });"
        "window.alert = window.confirm = window.prompt = function (m) {"
        " window.__pwned('dialog:' + m); };")
    page = context.new_page()
    page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
    page.on("popup", lambda p: watch.popups.append(p.url))
    expected: list[str] = []

    def on_navigate(frame) -> None:  # noqa: ANN001
        if frame == page.main_frame and frame.url not in expected:
            watch.navigations.append(frame.url)

    page.on("framenavigated", on_navigate)
    page.watch = watch  # type: ignore[attr-defined]
    page.expected = expected  # type: ignore[attr-defined]
    yield page
    context.close()


def visit(page, url: str) -> None:  # noqa: ANN001
    """Open url, let scripts run, poke the page (hover, focus, click buttons) and wait."""
    page.expected.append(url)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(150)
    for locator in page.locator("button, select, summary").all()[:20]:
        try:
            if locator.is_visible():
                locator.hover(timeout=500)
                locator.focus(timeout=500)
        except Exception:  # noqa: BLE001 - detached or hidden controls are fine
            pass
    page.mouse.move(5, 5)
    page.mouse.move(400, 300)
    page.wait_for_timeout(100)


DOM_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) bad.push(el.tagName + ' ' + attr.name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name) &&
          /^\\s*(javascript|data|vbscript):/i.test(attr.value))
        bad.push(el.tagName + ' ' + attr.value);
    }
  }
  for (const el of document.querySelectorAll('iframe, object, embed, base, form[action^="java"], '
                                             + 'meta[http-equiv="refresh" i], mglyph, animate'))
    bad.push('element ' + el.tagName);
  for (const s of document.scripts) {
    if (!s.src) bad.push('inline script ' + s.textContent.slice(0, 40));
    else if (new URL(s.src).origin !== location.origin) bad.push('foreign script ' + s.src);
  }
  return bad;
}"""


def site_pages(site: Path) -> list[str]:
    """Return the site path of every HTML page of a built site."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        pages.append(rel.removesuffix("index.html"))
    return pages


def test_the_hostile_corpus_has_every_kind_of_page(hostile_site: Path) -> None:
    pages = site_pages(hostile_site)
    for wanted in ("", "articles/hostile-one/", "articles/hostile-two/", "stories/hostile-story/",
                   "sources/evil/", "sources/", "stories/", "search/", "404.html"):
        assert wanted in pages, wanted
    story = (hostile_site / "stories/hostile-story/index.html").read_text("utf-8")
    assert "__pwned" in story  # the payloads are on the page, as text


def test_no_hostile_payload_runs_on_any_page(watched, site_url: str,  # noqa: ANN001
                                             hostile_site: Path) -> None:
    problems: dict[str, list[str]] = {}
    for rel in site_pages(hostile_site):
        visit(watched, site_url + rel)
        bad = watched.evaluate(DOM_CHECK)
        if bad:
            problems[rel] = bad
    watch = watched.watch
    assert watch.clean(), vars(watch)
    assert problems == {}


@pytest.mark.parametrize("query", [
    "pwned", "script", "evil", "<img src=x onerror=__pwned('q')>",
    "\"><script>__pwned('q2')</script>", "javascript:__pwned('q3')", "title:pwned",
])
def test_search_with_hostile_queries_and_results(watched, site_url: str,  # noqa: ANN001
                                                 query: str) -> None:
    from urllib.parse import quote

    visit(watched, f"{site_url}search/?q={quote(query)}")
    watched.wait_for_function(
        "() => document.getElementById('search-status').textContent.length > 0 &&"
        " !/Searching/.test(document.getElementById('search-status').textContent)",
        timeout=10_000)
    box = watched.locator("#search-q")
    box.fill("")
    box.type(query[:30], delay=5)
    box.press("Enter")
    watched.wait_for_timeout(400)
    assert watched.evaluate(DOM_CHECK) == []
    watched.expected.append(watched.url)
    watch = watched.watch
    assert not (watch.pwned or watch.dialogs or watch.popups or watch.violations), vars(watch)
    assert all(u.startswith(site_url + "search/") for u in watch.navigations), watch.navigations


def test_hostile_links_are_not_links(hostile_site: Path) -> None:
    page = (hostile_site / "articles/hostile-one/index.html").read_text("utf-8")
    hrefs = re.findall(r'(?:href|src|action)="([^"]*)"', page)
    assert hrefs and not [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript):", h, re.I)]
    assert 'href="https://example.org/ok"' in page


def test_every_page_carries_a_strict_content_security_policy(hostile_site: Path) -> None:
    policy = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">')
    for path in sorted(hostile_site.rglob("*.html")):
        found = policy.findall(path.read_text("utf-8"))
        assert len(found) == 1, path
        rules = dict((part.strip().split(" ", 1) + [""])[:2] for part in found[0].split(";"))
        assert rules["script-src"] == "'self'", path
        assert rules["default-src"] == "'self'" and rules["base-uri"] == "'none'", path
        assert "unsafe-inline" not in found[0] and "unsafe-eval" not in found[0], path


def test_the_watch_catches_a_payload_that_runs(watched, tmp_path: Path) -> None:  # noqa: ANN001
    """The hooks work: a page that does run payloads is caught (so silence above means safe)."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>x</title><script>__pwned('inline')</script>"
        "<img src=x onerror=\"alert('dialog')\"><script src=\"go.js\"></script>", "utf-8")
    (tmp_path / "go.js").write_text(
        "setTimeout(function () { window.location = 'about:blank'; }, 300);", "utf-8")
    with serve_static(tmp_path, "/") as url:
        watched.expected.append(url)
        watched.goto(url, wait_until="load")
        watched.wait_for_timeout(800)
    watch = watched.watch
    assert watch.pwned and watch.dialogs == [] and "dialog:dialog" in " ".join(watch.pwned)
    assert watch.navigations == ["about:blank"]

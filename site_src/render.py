"""The Jinja2 environment and page rendering: every function returns a string."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from jinja2 import meta, nodes
from markdown_it import MarkdownIt
from markupsafe import Markup

from site_src.config import Config
from site_src.model import Article, Site
from site_src.urls import Urls, static_path

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:", "#", "/")


def _validate_link(url: str) -> bool:
    """Allow only http(s), mailto and relative links in Markdown bodies."""
    lowered = url.strip().lower()
    return lowered.startswith(_SAFE_LINK_SCHEMES) or ":" not in lowered.split("/")[0]


_MARKDOWN.validateLink = _validate_link  # type: ignore[method-assign]


def render_markdown(body: str) -> Markup:
    """Render an article body to HTML: raw HTML off, unsafe link schemes dropped."""
    return Markup(_MARKDOWN.render(body))


def format_date(value: datetime | None) -> str:
    """Format a date for readers, e.g. `1 Sep 2021`; empty for undated."""
    if value is None:
        return ""
    return f"{value.day} {value.strftime('%b %Y')}"


def format_iso(value: datetime | None) -> str:
    """Format a date as RFC 3339 for <time datetime> and feeds; empty for undated."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def make_environment(config: Config, urls: Urls, site: Site) -> jinja2.Environment:
    """Create the Jinja environment: user templates first, autoescape on, strict undefined."""
    loader = jinja2.FileSystemLoader([str(config.templates_dir), str(bundled_templates())])
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        url_for=urls.url_for,
        link=urls.link,
        static_url=lambda name: urls.link(static_path(name)),
        site=site,
        config=config,
        source_name=lambda key: site.source(key).name,
    )
    env.filters["date"] = format_date
    env.filters["iso"] = format_iso
    env.filters["markdown"] = render_markdown
    return env


def bundled_templates() -> Path:
    """Return the templates shipped with the project (fallback for partial overrides)."""
    return Path(__file__).resolve().parent.parent / "templates"


def render_page(env: jinja2.Environment, template: str, **context: object) -> str:
    """Render one template with its context."""
    return env.get_template(template).render(**context)


def article_sort_key(article: Article) -> tuple[float, str]:
    """Newest first, undated last, ties by id: the order of listings."""
    stamp = article.published.timestamp() if article.published else float("-inf")
    return (-stamp, article.id)


def templates_pass(env: jinja2.Environment, names: Iterable[str],
                   check: Callable[[nodes.Template], bool]) -> bool:
    """Tell whether check(parsed template) holds for the named templates and every template
    they extend, include or import; False when one cannot be parsed or names a template
    only known at render time."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            tree = env.parse(env.loader.get_source(env, name)[0])  # type: ignore[union-attr]
        except jinja2.TemplateError:
            return False
        if not check(tree):
            return False
        for child in meta.find_referenced_templates(tree):
            if child is None:  # a template name computed at render time
                return False
            todo.append(child)
    return True

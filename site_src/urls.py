"""The only place that makes site paths, output file names and URLs."""

from __future__ import annotations

from dataclasses import dataclass

from site_src.model import Article, Source, Story

# Named pages that are not model objects: name -> site path.
PAGES = {
    "home": "",
    "feed": "feed.xml",
    "sitemap": "sitemap.xml",
    "robots": "robots.txt",
    "404": "404.html",
    "search": "search/",
    "sources": "sources/",
    "stories": "stories/",
    "data": "data/index.json",
    "favicon": "favicon.svg",
}


def path_for(target: object) -> str:
    """Return the site-relative path of a model object or named page (no leading slash)."""
    if isinstance(target, Article):
        return f"articles/{target.id}/"
    if isinstance(target, Story):
        return f"stories/{target.id}/"
    if isinstance(target, Source):
        return f"sources/{target.key}/"
    if isinstance(target, str):
        if target in PAGES:
            return PAGES[target]
        if target.startswith("static/"):
            return target
    raise ValueError(f"no URL for {target!r}")


def story_json_path(story: Story) -> str:
    """Return the site path of a story's machine-readable export."""
    return f"stories/{story.id}/story.json"


def alignment_part_path(story: Story, number: int) -> str:
    """Return the site path of part `number` of a story's passage table: part 1 is on the story
    page itself, the others are pages of their own."""
    if number <= 1:
        return path_for(story)
    return f"stories/{story.id}/alignment/{number}/"


def source_feed_path(source: Source) -> str:
    """Return the site path of an outlet's Atom feed."""
    return f"sources/{source.key}/feed.xml"


def static_path(name: str) -> str:
    """Return the site path of a static asset."""
    return f"static/{name}"


def output_file(site_path: str) -> str:
    """Return the file that serves a site path: directories get index.html."""
    if site_path == "" or site_path.endswith("/"):
        return site_path + "index.html"
    return site_path


@dataclass(frozen=True)
class Urls:
    """Makes links for one build: every link starts with the base URL path."""

    base_url: str = "/"
    site_url: str = ""  # absolute origin for feeds and sitemap, e.g. https://x.github.io

    def url_for(self, target: object) -> str:
        """Return the link to a model object, named page or static/ path."""
        return self.link(path_for(target))

    def link(self, site_path: str) -> str:
        """Return the link to a site path."""
        return self.base_url + site_path

    def absolute(self, site_path: str) -> str:
        """Return an absolute URL where the site URL is known, else the base-relative link."""
        return self.site_url.rstrip("/") + self.link(site_path)


def normalise_base_url(value: str) -> str:
    """Return a base URL path with exactly one leading and one trailing slash."""
    value = value.strip()
    if "://" in value:
        raise ValueError("--base-url takes a path such as /my-repo/, not a full URL")
    parts = [p for p in value.split("/") if p]
    return "/" + "".join(p + "/" for p in parts)

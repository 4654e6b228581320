"""URLs come from one place and respect the base URL; settings load from one loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_src.config import ConfigError, load_config
from site_src.model import Article, Source, Story
from site_src.urls import Urls, normalise_base_url, output_file, path_for


def make_article(article_id: str = "a1") -> Article:
    """A minimal article."""
    return Article(id=article_id, title="T", source="s", body="b", text="b", path="a1.md")


def test_paths_of_model_objects_and_pages() -> None:
    assert path_for(make_article()) == "articles/a1/"
    assert path_for(Story(id="s1", title="S", member_ids=("a1",))) == "stories/s1/"
    assert path_for(Source(key="ap", name="AP")) == "sources/ap/"
    assert path_for("home") == ""
    assert path_for("feed") == "feed.xml"
    with pytest.raises(ValueError):
        path_for("no-such-page")


def test_links_carry_the_base_url() -> None:
    urls = Urls(base_url="/some-repo/", site_url="https://me.github.io")
    assert urls.url_for(make_article()) == "/some-repo/articles/a1/"
    assert urls.url_for("home") == "/some-repo/"
    assert urls.absolute("feed.xml") == "https://me.github.io/some-repo/feed.xml"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("", "/"), ("/", "/"), ("repo", "/repo/"), ("/repo", "/repo/"), ("//a//b/", "/a/b/")],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert normalise_base_url(given) == expected


def test_full_url_as_base_url_is_refused() -> None:
    with pytest.raises(ValueError, match="path"):
        normalise_base_url("https://x.github.io/repo/")


def test_directories_are_served_by_index_html() -> None:
    assert output_file("") == "index.html"
    assert output_file("articles/a1/") == "articles/a1/index.html"
    assert output_file("feed.xml") == "feed.xml"


def test_config_reads_site_yml_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "site.yml").write_text("title: My corpus\nbase_url: repo\n", encoding="utf-8")
    config = load_config(tmp_path, out_dir="public")
    assert config.title == "My corpus"
    assert config.base_url == "/repo/"
    assert config.out_dir == (tmp_path / "public").resolve()
    assert config.content_dir == tmp_path.resolve() / "content"


def test_config_names_unknown_settings(tmp_path: Path) -> None:
    (tmp_path / "site.yml").write_text("titel: typo\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="titel"):
        load_config(tmp_path)

"""Incremental builds: the cache saves work, and the output equals a clean build's, byte for byte.

The Whoosh index is updated in place, so its segment files differ from a fresh index's; it is
compared by its documents. Everything else is compared byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE_CORPUS, make_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_src import cache
from site_src.output import iter_tree
from site_src.pipeline import build

WHOOSH = "search/whoosh/"

TOPICS = {
    "bridge": ["The harbour bridge was closed on Monday after engineers found a crack.",
               "About 42,000 vehicles cross the bridge every day.",
               "Repairs are expected to take at least three weeks.",
               "Buses will be diverted through the tunnel for the duration."],
    "library": ["The city library reopened on Saturday after a two-year renovation.",
                "The new reading room has space for 300 people.",
                "Librarians said the first day drew long queues outside the doors.",
                "The renovation cost 12 million euros, the council said."],
    "ferry": ["The ferry company published its summer timetable on Friday.",
              "Sailings to the islands will run every forty minutes in July.",
              "Fares rise by five percent from the first of June.",
              "The company said it would add a night crossing on weekends."],
}
OUTLETS = ["Coastal Wire", "Portmouth Daily", "Harbour Times"]


def article_text(title: str, source: str, day: int, sentences: list[str]) -> str:
    """Return a content file."""
    return (f"---\ntitle: {title}\nsource: {source}\npublished: 2024-03-{day:02d}\n---\n"
            + "\n\n".join(sentences) + "\n")


def write_article(folder: Path, name: str, seed: tuple[str, int, int, int]) -> None:
    """Write one article about a topic, drawn from a small pool so stories form."""
    topic, outlet, day, variant = seed
    pool = TOPICS[topic]
    sentences = [pool[(variant + i) % len(pool)] for i in range(2 + variant % 3)]
    if variant % 2:
        sentences.append(f"Reporter's note number {variant} on the {topic}.")
    title = f"{topic.title()} report {variant}"
    (folder / f"{name}.md").write_text(
        article_text(title, OUTLETS[outlet], day, sentences), encoding="utf-8")


def comparable(folder: Path) -> dict[str, bytes]:
    """Return the site's files, the Whoosh index left out (the static export included)."""
    return {rel: data for rel, data in iter_tree(folder) if not rel.startswith(WHOOSH)}


def indexed_documents(folder: Path) -> list[dict]:
    """Return the stored fields of every live document of the site's Whoosh index."""
    from whoosh import index

    ix = index.open_dir(str(folder / "search" / "whoosh"))
    with ix.searcher() as searcher:
        return sorted((dict(d) for d in searcher.all_stored_fields()), key=lambda d: d["key"])


def term_postings(folder: Path) -> dict[str, dict]:
    """Return term -> field -> postings code from the static term shards (no statistics)."""
    terms: dict[str, dict] = {}
    for path in sorted((folder / "search" / "static" / "t").glob("*.json")):
        for term, fields in json.loads(path.read_text("utf-8"))["terms"].items():
            terms[term] = {field: value[1] for field, value in fields.items()}
    return terms


def assert_same_site(incremental: Path, clean: Path) -> None:
    """Assert an incremental build equals a clean build of the same corpus."""
    mine, theirs = comparable(incremental), comparable(clean)
    assert sorted(mine) == sorted(theirs)
    assert [rel for rel in mine if mine[rel] != theirs[rel]] == []
    assert indexed_documents(incremental) == indexed_documents(clean)
    assert term_postings(incremental) == term_postings(clean)


def clean_build(content: Path, where: Path) -> Path:
    """Build content from scratch (no cache, no previous site) and return the site folder."""
    shutil.rmtree(where, ignore_errors=True)
    build(make_config(content, where / "site"))
    return where / "site"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the fixture corpus."""
    folder = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, folder)
    return folder


def test_unchanged_corpus_does_nothing(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    before = {p: p.stat().st_ino for p in out.rglob("*")}
    again = build(make_config(corpus, out))
    assert (again.mode, again.changed) == ("unchanged", 0)
    assert {p: p.stat().st_ino for p in out.rglob("*")} == before
    (corpus / "ferry-timetable.md").touch()  # same bytes, new time: still nothing to do
    assert build(make_config(corpus, out)).mode == "unchanged"


def test_one_edit_reanalyses_its_story_only(tmp_path: Path, corpus: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "build" / "site"
    write_article(corpus, "library-follow-up", ("library", 1, 9, 1))
    build(make_config(corpus, out))
    analysed: list[list[str]] = []
    from site_src import align

    real = align.analyse_story
    monkeypatch.setattr(align, "analyse_story",
                        lambda members: analysed.append([a.id for a in members]) or real(members))
    path = corpus / "harbour-bridge-daily.md"
    path.write_text(path.read_text("utf-8").replace("furious", "livid"), encoding="utf-8")
    result = build(make_config(corpus, out))
    assert result.mode == "incremental"
    assert analysed == [["harbour-bridge-wire", "harbour-bridge-daily"]]
    assert "livid" in (out / "articles/harbour-bridge-daily/index.html").read_text("utf-8")
    assert result.changed < result.files / 2
    assert_same_site(out, clean_build(corpus, tmp_path / "clean"))


def test_body_edits_never_rename_a_story_tied_on_date(tmp_path: Path) -> None:
    """Outlets often give a date only: editing the first member's text keeps the story's URL."""
    content = tmp_path / "content"
    content.mkdir()
    for name, outlet in (("first", 0), ("second", 1), ("third", 2)):
        write_article(content, name, ("bridge", outlet, 4, 0))
    out = tmp_path / "build" / "site"
    build(make_config(content, out))

    def story_of_everyone() -> set[str]:
        """Return the story ids the articles belong to."""
        data = json.loads((out / "data" / "index.json").read_text("utf-8"))
        return {article["story"] for article in data["articles"]}

    (story,) = story_of_everyone()
    for round_ in range(4):
        for name in ("first", "second", "third"):
            path = content / f"{name}.md"
            note = f"\nA correction by {name}, number {round_}.\n"
            path.write_text(path.read_text("utf-8") + note, encoding="utf-8")
        assert build(make_config(content, out)).mode == "incremental"
        assert story_of_everyone() == {story}
        assert (out / "stories" / story / "index.html").exists()


def test_deleted_article_leaves_pages_and_search(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    assert (out / "articles/library-reopens/index.html").is_file()
    (corpus / "library-reopens.md").unlink()
    build(make_config(corpus, out))
    assert not (out / "articles/library-reopens").exists()
    assert "library-reopens" not in (out / "sitemap.xml").read_text("utf-8")
    keys = [d["key"] for d in indexed_documents(out)]
    assert "article:library-reopens" not in keys
    shards = "".join(p.read_text("utf-8") for p in (out / "search/static/d").glob("*.json"))
    assert "library-reopens" not in shards
    assert_same_site(out, clean_build(corpus, tmp_path / "clean"))


def test_template_change_rerenders_without_reanalysis(
        tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out, templates_dir=templates))
    from site_src import align

    monkeypatch.setattr(align, "analyse_story", lambda members: pytest.fail("re-analysed"))
    bundled = Path(__file__).resolve().parents[1] / "templates" / "404.html"
    text = bundled.read_text("utf-8")
    (templates / "404.html").write_text(
        text.replace("{% endblock %}", "<p>Lost at sea.</p>{% endblock %}"), "utf-8")
    result = build(make_config(corpus, out, templates_dir=templates))
    assert result.mode == "render"
    assert "Lost at sea." in (out / "404.html").read_text("utf-8")


def test_code_change_or_corrupt_cache_means_clean_build(tmp_path: Path, corpus: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "build" / "site"
    config = make_config(corpus, out)
    build(config)
    (config.cache_dir / cache.STATE_FILE).write_bytes(b"not a pickle")
    (config.cache_dir / cache.ANALYSES_FILE).write_bytes(b"not a database either" * 100)
    assert build(config).mode == "clean"
    assert build(config).mode == "unchanged"
    monkeypatch.setattr(cache, "code_version", lambda: "other code")
    assert build(config).mode == "clean"


def test_cut_short_clustering_state_is_not_used(tmp_path: Path, corpus: Path) -> None:
    """A features file cut short (a full disk, a killed copy) only costs a fresh clustering."""
    out = tmp_path / "build" / "site"
    config = make_config(corpus, out)
    build(config)
    features = config.cache_dir / cache.FEATURES_FILE
    features.write_bytes(features.read_bytes()[: features.stat().st_size // 2])
    path = corpus / "harbour-bridge-daily.md"
    path.write_text(path.read_text("utf-8").replace("furious", "livid"), encoding="utf-8")
    assert build(config).mode == "incremental"
    assert_same_site(out, clean_build(corpus, tmp_path / "clean"))


def test_missing_output_renders_from_the_cache(tmp_path: Path, corpus: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI runner restores .cache/ but starts without the previous site."""
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    shutil.rmtree(out)
    (corpus / "library-reopens.md").unlink()
    from site_src import align, search

    monkeypatch.setattr(align, "analyse_story", lambda members: pytest.fail("re-analysed"))
    monkeypatch.setattr(search, "build_index", lambda *args: pytest.fail("index rebuilt"))
    assert build(make_config(corpus, out)).mode == "render"
    monkeypatch.undo()
    assert "article:library-reopens" not in [d["key"] for d in indexed_documents(out)]
    assert_same_site(out, clean_build(corpus, tmp_path / "clean"))


def test_previous_site_files_are_never_modified(tmp_path: Path, corpus: Path) -> None:
    """Unchanged files (the Whoosh index too) are hard links: nothing may write into them."""
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    before = {p.stat().st_ino: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (corpus / "ferry-timetable.md").write_text(
        article_text("Ferry fares rise", "Portmouth Daily", 9, TOPICS["ferry"]), "utf-8")
    build(make_config(corpus, out))
    after = {p.stat().st_ino: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    shared = before.keys() & after.keys()
    assert shared  # unchanged pages were linked, not rewritten
    assert [ino for ino in shared if before[ino] != after[ino]] == []


STEP = st.tuples(
    st.sampled_from(["edit", "add", "delete", "rename"]),
    st.integers(0, 7),  # which article
    st.tuples(st.sampled_from(sorted(TOPICS)), st.integers(0, 2), st.integers(1, 28),
              st.integers(0, 9)),
)


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.lists(STEP, min_size=1, max_size=3), min_size=1, max_size=3))
def test_incremental_equals_clean_after_random_changes(tmp_path_factory, steps) -> None:  # noqa: ANN001
    root = tmp_path_factory.mktemp("prop")
    corpus = root / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    out = root / "build" / "site"
    build(make_config(corpus, out))
    for batch in steps:  # each batch of changes is followed by one incremental build
        for action, which, seed in batch:
            names = sorted(p.stem for p in corpus.glob("*.md"))
            name = names[which % len(names)] if names else None
            if action == "add" or name is None:
                write_article(corpus, f"new-{which}-{seed[3]}", seed)
            elif action == "edit":
                write_article(corpus, name, seed)
            elif action == "delete" and len(names) > 1:
                (corpus / f"{name}.md").unlink()
            elif action == "rename":
                (corpus / f"{name}.md").rename(corpus / f"{name}-moved.md")
        build(make_config(corpus, out))
    assert_same_site(out, clean_build(corpus, root / "clean"))


def test_search_statistics_equal_a_clean_build(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    (corpus / "library-reopens.md").unlink()
    build(make_config(corpus, out))
    clean = clean_build(corpus, tmp_path / "clean")
    assert dict(iter_tree(out / "search/static")) == dict(iter_tree(clean / "search/static"))


def test_templates_reading_the_whole_site_disable_page_reuse(tmp_path: Path,
                                                             corpus: Path) -> None:
    """A user template showing site-wide data makes every article page depend on every file."""
    templates = tmp_path / "templates"
    templates.mkdir()
    bundled = Path(__file__).resolve().parents[1] / "templates" / "article.html"
    (templates / "article.html").write_text(bundled.read_text("utf-8").replace(
        "{% block main %}", "{% block main %}<p>{{ site.articles | length }} articles</p>", 1),
        "utf-8")
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out, templates_dir=templates))
    write_article(corpus, "library-follow-up", ("library", 1, 9, 1))
    build(make_config(corpus, out, templates_dir=templates))
    page = (out / "articles/ferry-timetable/index.html").read_text("utf-8")
    assert "<p>5 articles</p>" in page
    shutil.rmtree(tmp_path / "clean", ignore_errors=True)
    build(make_config(corpus, tmp_path / "clean" / "site", templates_dir=templates))
    assert_same_site(out, tmp_path / "clean" / "site")


def test_a_body_edit_renders_only_the_listings_it_changes(
        tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listings showing nothing of an edited text keep their bytes without being rendered."""
    from site_src import export, pages

    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    rendered: list[str] = []
    real = pages.render_page
    monkeypatch.setattr(pages, "render_page",
                        lambda env, name, **kw: rendered.append(name) or real(env, name, **kw))
    monkeypatch.setattr(export, "index_json", lambda *args: pytest.fail("index.json rendered"))
    path = corpus / "harbour-bridge-daily.md"
    path.write_text(path.read_text("utf-8").replace("furious", "livid"), encoding="utf-8")
    assert build(make_config(corpus, out)).mode == "incremental"
    assert not {"stories.html", "sources.html", "sitemap.xml", "search.html"} & set(rendered)
    monkeypatch.undo()
    assert_same_site(out, clean_build(corpus, tmp_path / "clean"))


def test_listing_templates_reading_the_site_disable_listing_reuse(tmp_path: Path,
                                                                  corpus: Path) -> None:
    """A home page showing every article's text length must follow a body edit."""
    templates = tmp_path / "templates"
    templates.mkdir()
    bundled = Path(__file__).resolve().parents[1] / "templates" / "index.html"
    (templates / "index.html").write_text(bundled.read_text("utf-8").replace(
        "{% block main %}",
        "{% block main %}<p>{% for a in site.articles %}{{ a.text | length }} {% endfor %}</p>",
        1), "utf-8")
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out, templates_dir=templates))
    path = corpus / "harbour-bridge-daily.md"
    path.write_text(path.read_text("utf-8").replace("furious", "much more furious"), "utf-8")
    assert build(make_config(corpus, out, templates_dir=templates)).mode == "incremental"
    shutil.rmtree(tmp_path / "clean", ignore_errors=True)
    build(make_config(corpus, tmp_path / "clean" / "site", templates_dir=templates))
    assert_same_site(out, tmp_path / "clean" / "site")

"""The memory-saving paths of a large build give what the plain ones give."""

from __future__ import annotations

from site_src import search_analysis
from site_src.content import parse_article
from site_src.search_analysis import TEXT_NAMES, ExportPostings
from site_src.search_segments import SPLIT_DOCS, segment_starts
from site_src.search_tokens import FieldPostings, TokenStore, position_values
from site_src.spool import SpooledFiles

HEAD = "---\ntitle: Ferry timetable\nsource: ap\npublished: 2021-09-01\n---\n\n"


def test_spooled_files_give_back_the_bytes(tmp_path) -> None:
    files = SpooledFiles(tmp_path / "cache")
    page = ("<p>" + "the ferry leaves at nine " * 400 + "</p>\n").encode()
    files.update({"a/index.html": page, "robots.txt": b"User-agent: *\n", ".nojekyll": b""})
    assert dict(files) == {"a/index.html": page, "robots.txt": b"User-agent: *\n",
                           ".nojekyll": b""}
    files["robots.txt"] = b"User-agent: ferry\n"  # set again: the new bytes are read back
    assert files["robots.txt"] == b"User-agent: ferry\n"
    del files["robots.txt"]
    assert sorted(files) == [".nojekyll", "a/index.html"] and len(files) == 2
    assert list((tmp_path / "cache").iterdir()) == []  # the spool file has no name
    files.close()


def test_segments_cover_every_document_once() -> None:
    assert segment_starts(SPLIT_DOCS - 1) == [0, SPLIT_DOCS - 1]
    assert segment_starts(SPLIT_DOCS) == [0, SPLIT_DOCS // 2, SPLIT_DOCS]
    for count in (10_000, 10_401, 37_554 + 9_000):
        starts = segment_starts(count)
        sizes = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        assert starts[0] == 0 and starts[-1] == count and len(sizes) >= 2
        assert max(sizes) - min(sizes) <= 1 and max(sizes) <= 5000


def test_lazy_posting_lists_equal_the_lists() -> None:
    """Term by term, the array-backed lists hold what the plain lists hold (long ones too)."""
    store = TokenStore(("body",))
    store.add_terms("body", 0, 0, ["ferri", "leav"] * 1500 + ["nine"])
    store.add_where("body", 1, {"leav": [3, 300, 70_000], "dock": [5]})
    store.add_terms("body", 2, 4, ["ferri", "dock"])
    postings = store.postings("body")
    assert postings is not None
    values, docs = position_values(postings), postings.doc.tolist()
    weights = postings.tf.astype(float).tolist()
    texts = store.texts()
    seen = []
    for text, lists in FieldPostings(postings).term_lists(texts):
        docnums, scores, codes = lists
        first = len(seen)
        count = len(docnums)
        assert docnums[0:count] == docs[first : first + count]
        assert list(scores) == weights[first : first + count]
        assert codes[1:] == values[first + 1 : first + count]
        assert codes[0] == values[first]
        seen.extend(text for _ in range(count))
    assert seen == [texts[n].encode() for n in postings.term.tolist()]


def test_plain_body_shares_the_text_and_markdown_keeps_its_own() -> None:
    plain, _ = parse_article(HEAD + "The ferry leaves at nine.\n\nIt returns at five.\n",
                             "content/ferry.md")
    assert plain is not None and plain.body == plain.text
    assert plain.text == "The ferry leaves at nine.\n\nIt returns at five."
    marked, _ = parse_article(HEAD + "The *ferry* leaves at nine.\n", "content/ferry.md")
    assert marked is not None and marked.body == "The *ferry* leaves at nine.\n"
    assert marked.text == "The ferry leaves at nine."


def test_side_file_packs_as_one_piece(monkeypatch) -> None:  # noqa: ANN001
    """Packed a piece at a time, the side file is the bytes of the whole list compressed."""
    import json
    import zlib

    from site_src import search_index

    monkeypatch.setattr(search_index, "PACK_BATCH_CHARS", 50)
    docs = {f"article:{n:03}": [{"key": f"article:{n:03}", "title": "Fähre"}, [0, "ferri leav"]]
            for n in range(40)}
    whole = json.dumps([docs[k] for k in sorted(docs)], ensure_ascii=False,
                       separators=(",", ":")).encode("utf-8")
    assert search_index.pack_analysed(docs) == zlib.compress(whole, 1)
    assert search_index.pack_analysed({}) == zlib.compress(b"[]", 1)


def test_export_codes_made_range_by_range_equal_all_at_once(monkeypatch) -> None:
    """The static export encodes a large field a range of terms at a time: same codes."""
    postings = ExportPostings()
    words = ["ferri", "leav", "nine", "dock", "harbour", "tide", "crew", "pier"]
    for doc in range(40):
        terms = [words[(doc * 3 + k * k) % len(words)] for k in range(25 + doc)]
        if doc % 3 == 1:  # positions given term by term, as update_documents adds them
            where: dict[str, list[int]] = {}
            for spot, term in enumerate(terms):
                where.setdefault(term, []).append(spot * 2 + 1)
            for name in TEXT_NAMES:
                postings.add(name, doc, where, len(terms))
        else:
            postings.add_document(doc, tuple((doc % 4, terms) for _ in TEXT_NAMES))
    whole = postings.terms()
    monkeypatch.setattr(search_analysis, "EXPORT_RANGE_TOKENS", 30)
    assert len(postings.store.term_ranges(TEXT_NAMES[0], 30)) > 3
    assert postings.terms() == whole

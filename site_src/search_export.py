"""Static export of the Whoosh index: sharded JSON files that search.js queries in the browser.

Layout (paths relative to `_site/search/static/`):
- `meta.json`: collection statistics (doc count, average field lengths, BM25 parameters, field
  boosts, Whoosh's length-decoding table) and the names of the current shard files.
- `t/<bucket>-<hash>.json`: postings of every term whose FNV-1a hash falls in the bucket, per
  field `[doc frequency, encoded (doc delta, frequency) pairs]`, plus the name of the matching
  positions shard (`p/<bucket>-<hash>.json`), fetched only for phrase queries.
- `v/<bucket>-<hash>.json`: vocabulary by two-letter prefix, most frequent first (prefix
  matching as you type, typo tolerance).
- `l/<block>-<hash>.json`: per block of documents, quantised field lengths (base64, the byte
  Whoosh stores) and the names of the block's attribute and document shards.
- `a/<block>-<hash>.json` (outlet, date, story of each document: filters) and
  `d/<block>-<n>-<hash>.json` (title, URL, outlet, date, story, excerpt of a few documents).
Shard names carry a content hash, so a rebuild that leaves a shard's content alone keeps its
name (and the browser's cached copy). Numbers are varints in a JSON-safe base-64 alphabet.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from pathlib import Path

from whoosh import index
from whoosh.util.numeric import byte_to_length, length_to_byte

from site_src.search import BM25_B, BM25_K1, FIELD_BOOSTS, TEXT_FIELDS
from site_src.search_analysis import ALPHABET, ExportPostings, encode_numbers, group_positions
from site_src.search_index import cut_excerpt, read_analysed, take_built

BLOCK_DOCS = 1024  # documents per length/attribute block
DOC_CHUNK = 4  # documents per metadata shard
VOCAB_BUCKETS = 64
FORMAT_VERSION = 1


def fnv1a(text: str) -> int:
    """Return the 32-bit FNV-1a hash of a string's UTF-8 bytes (search.js computes the same)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def term_bucket(term: str, buckets: int) -> int:
    """Return the term shard a term lives in."""
    return fnv1a(term) % buckets


def vocab_bucket(term: str) -> int:
    """Return the vocabulary shard of a term: a hash of its first two characters."""
    return fnv1a(term[:2]) % VOCAB_BUCKETS


def choose_buckets(vocabulary: int) -> int:
    """Return the number of term shards: a power of two, about 200 terms each, 64 to 1024."""
    buckets = 64
    while buckets < 1024 and buckets * 200 < vocabulary:
        buckets *= 2
    return buckets


def to_json(value: object) -> bytes:
    """Serialise deterministically and compactly."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def short_hash(data: bytes) -> str:
    """Return the content hash used in shard names."""
    return hashlib.sha256(data).hexdigest()[:10]


def _name(folder: str, stem: str, data: bytes) -> str:
    """Return a content-hashed shard path."""
    return f"{folder}/{stem}-{short_hash(data)}.json"


def _read_documents(reader) -> tuple[list[int], list[dict]]:
    """Return live docnums in export order and their stored fields (read back from Whoosh)."""
    stored = [(d, f) for d, f in reader.iter_docs()]
    stored.sort(key=lambda item: (item[1]["order"], item[0]))
    return [d for d, _ in stored], [_stored_fields(f) for _, f in stored]


def _stored_fields(fields: dict) -> dict:
    """Return a document's stored fields in the side file's shape (ISO date, excerpt)."""
    out = {k: v for k, v in fields.items() if k not in ("body", "published")}
    published = fields.get("published")
    out["published"] = published.date().isoformat() if published else None
    out["excerpt"] = cut_excerpt(fields.get("body", ""))
    return out


def _read_postings(reader, position: dict[int, int]) -> tuple[dict, dict[str, int]]:
    """Return term -> field -> (doc frequency, postings code, positions code) and field ->
    total length (every occurrence in a live document), read back."""
    terms: dict[str, dict[str, tuple]] = defaultdict(dict)
    totals = dict.fromkeys(TEXT_FIELDS, 0)
    for field in TEXT_FIELDS:
        for raw in reader.lexicon(field):
            matcher = reader.postings(field, raw)
            items = sorted(
                (position[d], list(p)) for d, p in matcher.items_as("positions") if d in position
            )
            if not items:
                continue
            pairs: list[int] = []
            places: list[int] = []
            previous = -1
            for doc, spots in items:
                delta = doc - previous
                previous = doc
                tf = len(spots)
                totals[field] += tf
                pairs.extend([delta * 2] if tf == 1 else [delta * 2 + 1, tf])
                last = 0
                for spot in spots:
                    places.append(spot - last)
                    last = spot
            text = raw.decode("utf-8")  # live documents only: deleted ones are left out
            terms[text][field] = (len(items), encode_numbers(pairs), encode_numbers(places))
    return terms, totals


def _read_lengths(reader, docnums: list[int]) -> dict[str, bytes]:
    """Return field -> the length byte Whoosh stores for each live document, read back."""
    return {f: bytes(length_to_byte(reader.doc_field_length(n, f, 0) or 0) for n in docnums)
            for f in TEXT_FIELDS}


def _analysed_postings(entries: list[list]) -> tuple[dict, dict[str, bytes], dict[str, int]]:
    """Return the terms (as _read_postings), length bytes and field length totals, from the
    analysed side file."""
    postings = ExportPostings()
    totals = dict.fromkeys(TEXT_FIELDS, 0)
    for docpos, entry in enumerate(entries):
        for slot, field in enumerate(TEXT_FIELDS, start=1):
            offset, text = entry[slot]
            words = text.split()
            postings.add(field, docpos, group_positions(offset, words), len(words))
            totals[field] += len(words)
    return postings.terms(), {f: bytes(postings.sizes[f]) for f in TEXT_FIELDS}, totals


def _export_terms(terms: dict[str, dict[str, tuple]], buckets: int) -> tuple[dict, list[str]]:
    """Return the term and positions shards and the term shard names by bucket."""
    grouped: dict[int, list[str]] = defaultdict(list)
    for text in terms:
        grouped[term_bucket(text, buckets)].append(text)
    files: dict[str, bytes] = {}
    names = [""] * buckets
    for bucket, texts in sorted(grouped.items()):
        texts.sort()
        positions = {t: {f: v[2] for f, v in terms[t].items()} for t in texts}
        pos_data = to_json(positions)
        pos_name = _name("p", f"{bucket:x}", pos_data)
        shard = {t: {f: [v[0], v[1]] for f, v in terms[t].items()} for t in texts}
        data = to_json({"pos": pos_name, "terms": shard})
        names[bucket] = _name("t", f"{bucket:x}", data)
        files[pos_name] = pos_data
        files[names[bucket]] = data
    return files, names


def _export_vocabulary(terms: dict[str, dict[str, tuple]]) -> tuple[dict, list[str]]:
    """Return the vocabulary shards: per two-letter prefix, terms by falling frequency."""
    grouped: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for text, fields in terms.items():
        frequency = sum(v[0] for v in fields.values())
        grouped[vocab_bucket(text)][text[:2]].append((-frequency, text))
    files: dict[str, bytes] = {}
    names = [""] * VOCAB_BUCKETS
    for bucket, prefixes in sorted(grouped.items()):
        shard = {p: [[t, -f] for f, t in sorted(items)] for p, items in prefixes.items()}
        data = to_json(shard)
        names[bucket] = _name("v", f"{bucket:x}", data)
        files[names[bucket]] = data
    return files, names


def _doc_record(fields: dict) -> dict:
    """Return what search.js shows of one document."""
    return {
        "id": fields["id"],
        "kind": fields["kind"],
        "title": fields["title"],
        "source": fields.get("source", ""),
        "source_name": fields.get("source_name", ""),
        "published": fields.get("published"),
        "url": fields["url"],
        "story": fields.get("story", ""),
        "story_title": fields.get("story_title", ""),
        "story_url": fields.get("story_url", ""),
        "outlets": int(fields.get("outlets", 1)),
        "excerpt": fields.get("excerpt", ""),
    }


def _export_blocks(stored: list[dict], lengths: dict[str, bytes], first: int = 0
                   ) -> tuple[dict, list[str]]:
    """Return the length, attribute and document shards, block by block (the documents
    given start block `first`)."""
    files: dict[str, bytes] = {}
    names: list[str] = []
    for block, start in enumerate(range(0, len(stored), BLOCK_DOCS), start=first):
        docs = stored[start : start + BLOCK_DOCS]
        attrs = {
            "source": [d.get("source", "") for d in docs],
            "date": [int(d["published"].replace("-", "")) if d.get("published") else 0
                     for d in docs],
            "story": [d.get("story", "") for d in docs],
        }
        attr_data = to_json(attrs)
        attr_name = _name("a", f"{block:x}", attr_data)
        files[attr_name] = attr_data
        doc_names = []
        for chunk, at in enumerate(range(0, len(docs), DOC_CHUNK)):
            data = to_json([_doc_record(d) for d in docs[at : at + DOC_CHUNK]])
            doc_names.append(_name("d", f"{block:x}-{chunk:x}", data))
            files[doc_names[-1]] = data
        block_lengths = {f: base64.b64encode(lengths[f][start : start + BLOCK_DOCS]).decode()
                         for f in TEXT_FIELDS}
        data = to_json({"lengths": block_lengths, "attrs": attr_name, "docs": doc_names})
        names.append(_name("l", f"{block:x}", data))
        files[names[-1]] = data
    return files, names


def _collect(index_dir: Path, ix, reader, use_side_file: bool) -> tuple:
    """Return (stored fields, terms, lengths, field length totals) of the live documents in
    export order. Statistics count live documents only (as a fresh index of them would),
    never the deleted documents an updated Whoosh index still counts until it is merged."""
    built = take_built(index_dir, ix.latest_generation()) if use_side_file else None
    if built is not None and len(built[1]) == reader.doc_count() and not reader.has_deletions():
        totals = {f: reader.field_length(f) for f in TEXT_FIELDS}
        return built[1], built[0].terms(), {f: bytes(built[0].sizes[f]) for f in TEXT_FIELDS}, \
            totals
    entries = read_analysed(index_dir, ix.latest_generation()) if use_side_file else None
    if entries is not None and len(entries) == reader.doc_count():
        ordered = sorted(entries.values(), key=lambda e: e[0]["order"])
        terms, lengths, totals = _analysed_postings(ordered)
        return [e[0] for e in ordered], terms, lengths, totals
    docnums, stored = _read_documents(reader)  # an index this code did not write: read back
    terms, totals = _read_postings(reader, {d: i for i, d in enumerate(docnums)})
    return stored, terms, _read_lengths(reader, docnums), totals


def export_static(index_dir: Path, *, use_side_file: bool = True) -> dict[str, bytes]:
    """Export the Whoosh index in index_dir as static shards for search.js; deterministic."""
    return export_counted(index_dir, use_side_file=use_side_file)[0]


def export_counted(index_dir: Path, *, use_side_file: bool = True
                   ) -> tuple[dict[str, bytes], int]:
    """Return export_static's files and the number of distinct terms they hold."""
    ix = index.open_dir(str(index_dir))
    with ix.searcher() as searcher:
        stored, terms, lengths, totals = _collect(index_dir, ix, searcher.reader(),
                                                  use_side_file)
        buckets = choose_buckets(len(terms))
        files, term_names = _export_terms(terms, buckets)
        vocab_files, vocab_names = _export_vocabulary(terms)
        block_files, block_names = _export_blocks(stored, lengths)
        meta = {
            "version": FORMAT_VERSION,
            "doc_count": len(stored),
            "docs": len(stored),
            "field_length": totals,
            "boost": dict(FIELD_BOOSTS),
            "B": BM25_B,
            "K1": BM25_K1,
            "length_table": [byte_to_length(i) for i in range(256)],
            "block_docs": BLOCK_DOCS,
            "doc_chunk": DOC_CHUNK,
            "alphabet": ALPHABET,
            "buckets": buckets,
            "vocab_buckets": VOCAB_BUCKETS,
            "terms": term_names,
            "vocab": vocab_names,
            "blocks": block_names,
        }
    files.update(vocab_files)
    files.update(block_files)
    files["meta.json"] = to_json(meta)
    return dict(sorted(files.items())), len(terms)

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

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
BLOCK_DOCS = 1024  # documents per length/attribute block
DOC_CHUNK = 4  # documents per metadata shard
VOCAB_BUCKETS = 64
EXCERPT_CHARS = 600
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


def encode_numbers(numbers: list[int]) -> str:
    """Encode non-negative integers as varints: 5 bits per character, low bits first."""
    out: list[str] = []
    for number in numbers:
        while number >= 32:
            out.append(ALPHABET[32 + (number & 31)])
            number >>= 5
        out.append(ALPHABET[number])
    return "".join(out)


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
    """Return live docnums in export order and their stored fields."""
    stored = [(d, f) for d, f in reader.iter_docs()]
    stored.sort(key=lambda item: (item[1]["order"], item[0]))
    return [d for d, _ in stored], [f for _, f in stored]


def _term_postings(reader, position: dict[int, int]) -> dict[str, dict[str, tuple]]:
    """Return term -> field -> (doc frequency, postings code, positions code)."""
    terms: dict[str, dict[str, tuple]] = defaultdict(dict)
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
                pairs.extend([delta * 2] if tf == 1 else [delta * 2 + 1, tf])
                last = 0
                for spot in spots:
                    places.append(spot - last)
                    last = spot
            text = raw.decode("utf-8")
            frequency = reader.doc_frequency(field, raw)
            terms[text][field] = (frequency, encode_numbers(pairs), encode_numbers(places))
    return terms


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
    published = fields.get("published")
    body = " ".join(fields.get("body", "").split())
    if len(body) > EXCERPT_CHARS:
        body = body[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    return {
        "id": fields["id"],
        "kind": fields["kind"],
        "title": fields["title"],
        "source": fields.get("source", ""),
        "source_name": fields.get("source_name", ""),
        "published": published.date().isoformat() if published else None,
        "url": fields["url"],
        "story": fields.get("story", ""),
        "story_title": fields.get("story_title", ""),
        "story_url": fields.get("story_url", ""),
        "outlets": int(fields.get("outlets", 1)),
        "excerpt": body,
    }


def _length_code(reader, docnum: int, field: str) -> int:
    """Return the length byte Whoosh stores for a document's field."""
    return length_to_byte(reader.doc_field_length(docnum, field, 0) or 0)


def _export_blocks(reader, docnums: list[int], stored: list[dict]) -> tuple[dict, list[str]]:
    """Return the length, attribute and document shards, block by block."""
    files: dict[str, bytes] = {}
    names: list[str] = []
    for block, start in enumerate(range(0, len(docnums), BLOCK_DOCS)):
        nums, docs = docnums[start : start + BLOCK_DOCS], stored[start : start + BLOCK_DOCS]
        attrs = {
            "source": [d.get("source", "") for d in docs],
            "date": [int(d["published"].strftime("%Y%m%d")) if d.get("published") else 0
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
        lengths = {
            f: base64.b64encode(bytes(_length_code(reader, n, f) for n in nums)).decode()
            for f in TEXT_FIELDS
        }
        data = to_json({"lengths": lengths, "attrs": attr_name, "docs": doc_names})
        names.append(_name("l", f"{block:x}", data))
        files[names[-1]] = data
    return files, names


def export_static(index_dir: Path) -> dict[str, bytes]:
    """Export the Whoosh index in index_dir as static shards for search.js; deterministic."""
    ix = index.open_dir(str(index_dir))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        docnums, stored = _read_documents(reader)
        position = {d: i for i, d in enumerate(docnums)}
        terms = _term_postings(reader, position)
        buckets = choose_buckets(len(terms))
        files, term_names = _export_terms(terms, buckets)
        vocab_files, vocab_names = _export_vocabulary(terms)
        block_files, block_names = _export_blocks(reader, docnums, stored)
        meta = {
            "version": FORMAT_VERSION,
            "doc_count": searcher.doc_count_all(),
            "docs": len(docnums),
            "field_length": {f: searcher.field_length(f) for f in TEXT_FIELDS},
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
    return dict(sorted(files.items()))

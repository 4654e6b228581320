"""Update the static search export in place when documents changed but none came or went.

A clean export (search_export.export_static) encodes every posting of every document. When a
rebuild only changes the text of some documents (an edited article), every other document
keeps its position in export order, so only a few shards change: the term and positions
shards of the terms those documents held or now hold, the vocabulary shards of those terms,
the length, attribute and document shards of their blocks, and meta.json. This module
rewrites just those, from the previous export's files and the previous entries of the
changed documents (kept in the cache), and gives the same bytes a clean export gives.
Anything else (documents added or removed, an order change, a new shard count) is left to
the clean export: `update_export` then returns None.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from whoosh.util.numeric import length_to_byte

from site_src.search import TEXT_FIELDS
from site_src.search_analysis import ALPHABET, group_positions
from site_src.search_export import (
    BLOCK_DOCS,
    DOC_CHUNK,
    _doc_record,
    _name,
    choose_buckets,
    term_bucket,
    to_json,
    vocab_bucket,
)
from site_src.search_index import analyse_row, cut_excerpt

_VALUE = np.zeros(256, dtype=np.int64)
_VALUE[np.frombuffer(ALPHABET.encode("ascii"), np.uint8)] = np.arange(len(ALPHABET))
_CHARS = np.frombuffer(ALPHABET.encode("ascii"), np.uint8)

Entry = list  # [stored fields, [offset, "title terms"], [offset, "body terms"]]


def document_entry(row: Mapping) -> Entry:
    """Return what the export keeps of one index row: stored fields and analysed text."""
    fields = {k: v for k, v in row.items() if k not in ("body", "published")}
    fields["excerpt"] = cut_excerpt(row["body"] or "")
    published = row.get("published")
    fields["published"] = published.date().isoformat() if published else None
    return [fields, *[[offset, " ".join(terms)] for offset, terms in analyse_row(row)]]


def decode_array(code: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the varints of a code (search_analysis.encode_numbers) and where each starts."""
    if not code:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    digits = _VALUE[np.frombuffer(code.encode("ascii"), np.uint8)]
    last = digits < 32
    starts = np.concatenate([[0], np.flatnonzero(last)[:-1] + 1])
    number = np.cumsum(np.concatenate([[0], last[:-1]]))
    place = np.arange(len(digits)) - starts[number]
    return np.add.reduceat((digits & 31) << (5 * place), starts), starts


def encode_array(numbers: np.ndarray) -> str:
    """Return encode_numbers(numbers), vectorised."""
    numbers = numbers.astype(np.int64)
    width = np.ones(len(numbers), np.int64)
    rest = numbers >> 5
    while rest.any():
        width += rest > 0
        rest >>= 5
    owner = np.repeat(np.arange(len(numbers)), width)
    place = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
    digit = (numbers[owner] >> (5 * place)) & 31
    digit += 32 * (place < width[owner] - 1)
    return _CHARS[digit].tobytes().decode("ascii")


def _spot_code(spots: list[int]) -> str:
    """Return the positions code of one document's occurrences of a term."""
    return encode_array(np.diff(np.array([0, *spots], dtype=np.int64)))


def parse_pairs(pairs: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the documents and term frequencies of a postings code (vectorised).

    A number is an entry's head (gap * 2, plus 1 when a frequency follows) unless the number
    before it is an odd head; so along a run of odd numbers heads and frequencies alternate.
    """
    numbers = decode_array(pairs)[0]
    index = np.arange(len(numbers))
    odd = (numbers & 1).astype(bool)
    fresh = np.concatenate([[True], ~odd[:-1]])
    start = np.maximum.accumulate(np.where(fresh, index, 0))
    heads = index[(index - start) % 2 == 0]
    tfs = np.ones(len(heads), np.int64)
    many = odd[heads]
    tfs[many] = numbers[heads[many] + 1]
    return np.cumsum(numbers[heads] >> 1) - 1, tfs


def splice(pairs: str, places: str, edits: Mapping[int, list[int]]) -> tuple[int, str, str]:
    """Return a term's document frequency, postings and positions codes with the documents
    in edits replaced (document position -> its positions now; [] when the term left it)."""
    docs, tfs = parse_pairs(pairs)
    starts = decode_array(places)[1]
    firsts = np.concatenate([[0], np.cumsum(tfs)])

    def offset(entry: int) -> int:
        """Return where an entry's positions start in the positions code."""
        number = int(firsts[entry])
        return int(starts[number]) if number < len(starts) else len(places)

    pieces, doc_parts, tf_parts, cursor = [], [], [], 0
    for doc in sorted(edits):
        entry = int(np.searchsorted(docs, doc))
        pieces.append(places[offset(cursor):offset(entry)])
        doc_parts.append(docs[cursor:entry])
        tf_parts.append(tfs[cursor:entry])
        if entry < len(docs) and docs[entry] == doc:
            entry += 1
        if edits[doc]:
            pieces.append(_spot_code(edits[doc]))
            doc_parts.append(np.array([doc], np.int64))
            tf_parts.append(np.array([len(edits[doc])], np.int64))
        cursor = entry
    pieces.append(places[offset(cursor):])
    doc_array = np.concatenate([*doc_parts, docs[cursor:]])
    tf_array = np.concatenate([*tf_parts, tfs[cursor:]])
    if not len(doc_array):
        return 0, "", ""
    many = tf_array > 1
    heads = np.diff(np.concatenate([[-1], doc_array])) * 2 + many
    width = 1 + many
    at = np.cumsum(width) - width
    out = np.empty(int(width.sum()), np.int64)
    out[at] = heads
    out[at[many] + 1] = tf_array[many]
    return len(doc_array), encode_array(out), "".join(pieces)


class _Files:
    """The previous export's shards, read on demand, and the shards replaced so far."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, bytes] = {}
        self.dropped: set[str] = set()

    def read(self, name: str):  # noqa: ANN201 - parsed JSON
        """Return a previous shard, parsed."""
        return json.loads((self.folder / name).read_bytes())

    def replace(self, old: str, folder: str, stem: str, value: object) -> str:
        """Swap a shard for one holding value (None: no shard); return the new name or ""."""
        if old:
            self.dropped.add(old)
        if value is None:
            return ""
        data = to_json(value)
        name = _name(folder, stem, data)
        self.made[name] = data
        return name


def update_export(folder: Path, meta: dict, terms_total: int,
                  changes: Mapping[int, tuple[Entry, Entry]]
                  ) -> tuple[dict[str, bytes], set[str], int] | None:
    """Update the export in folder (its parsed meta.json and term count given) for documents
    whose entries changed in place (position -> (old entry, new entry)).

    Returns (new or replaced files, previous files no longer used, term count), or None when
    only a clean export can follow the change.
    """
    edits: dict[str, dict[str, dict[int, list[int]]]] = {f: {} for f in TEXT_FIELDS}
    totals = dict(meta["field_length"])
    for position, (old, new) in changes.items():
        if old[0]["order"] != new[0]["order"]:
            return None
        for slot, field in enumerate(TEXT_FIELDS, start=1):
            before, after = old[slot][1].split(), new[slot][1].split()
            totals[field] += len(after) - len(before)
            now = group_positions(new[slot][0], after)
            for term in set(group_positions(old[slot][0], before)) | set(now):
                edits[field].setdefault(term, {})[position] = now.get(term, [])
    files = _Files(folder)
    touched = sorted(set().union(*edits.values()))
    buckets: dict[int, list[str]] = {}
    for term in touched:
        buckets.setdefault(term_bucket(term, meta["buckets"]), []).append(term)
    counts: dict[str, int] = {}  # term -> new frequency over fields
    was: dict[str, bool] = {}
    names = list(meta["terms"])
    for bucket, texts in sorted(buckets.items()):
        shard = files.read(names[bucket]) if names[bucket] else {"pos": "", "terms": {}}
        positions = files.read(shard["pos"]) if shard["pos"] else {}
        for term in texts:
            fields = shard["terms"].get(term, {})
            was[term] = bool(fields)
            for field in TEXT_FIELDS:
                if term in edits[field]:
                    df, pairs, places = splice(fields.get(field, [0, ""])[1],
                                               positions.get(term, {}).get(field, ""),
                                               edits[field][term])
                    if df:
                        fields[field] = [df, pairs]
                        positions.setdefault(term, {})[field] = places
                    else:
                        fields.pop(field, None)
                        positions.get(term, {}).pop(field, None)
            counts[term] = sum(v[0] for v in fields.values())
            if fields:
                shard["terms"][term] = fields
            else:
                shard["terms"].pop(term, None)
                positions.pop(term, None)
        if shard["pos"]:
            files.dropped.add(shard["pos"])
        if shard["terms"]:
            stem = f"{bucket:x}"
            shard["pos"] = files.replace("", "p", stem, positions)
            names[bucket] = files.replace(names[bucket], "t", stem, shard)
        else:
            names[bucket] = files.replace(names[bucket], "t", "", None)
    terms_total += sum(1 for t in touched if counts[t] and not was[t])
    terms_total -= sum(1 for t in touched if was[t] and not counts[t])
    if choose_buckets(terms_total) != meta["buckets"]:
        return None
    vocab = _update_vocabulary(files, list(meta["vocab"]), counts)
    blocks = _update_blocks(files, list(meta["blocks"]), changes)
    meta = {**meta, "field_length": totals, "terms": names, "vocab": vocab, "blocks": blocks}
    files.made["meta.json"] = to_json(meta)
    return files.made, files.dropped - files.made.keys(), terms_total


def _update_vocabulary(files: _Files, names: list[str], counts: Mapping[str, int]) -> list[str]:
    """Rewrite the vocabulary shards of the touched terms with their new frequencies."""
    grouped: dict[int, list[str]] = {}
    for term in counts:
        grouped.setdefault(vocab_bucket(term), []).append(term)
    for bucket, texts in sorted(grouped.items()):
        shard = files.read(names[bucket]) if names[bucket] else {}
        for term in texts:
            items = [item for item in shard.get(term[:2], []) if item[0] != term]
            if counts[term]:
                items.append([term, counts[term]])
            if items:
                shard[term[:2]] = sorted(items, key=lambda item: (-item[1], item[0]))
            else:
                shard.pop(term[:2], None)
        names[bucket] = files.replace(names[bucket], "v", f"{bucket:x}", shard or None)
    return names


def _update_blocks(files: _Files, names: list[str],
                   changes: Mapping[int, tuple[Entry, Entry]]) -> list[str]:
    """Rewrite the length, attribute and document shards of the changed documents' blocks."""
    by_block: dict[int, list[int]] = {}
    for position in changes:
        by_block.setdefault(position // BLOCK_DOCS, []).append(position)
    for block, positions in sorted(by_block.items()):
        shard = files.read(names[block])
        lengths = {f: bytearray(base64.b64decode(v)) for f, v in shard["lengths"].items()}
        attrs = files.read(shard["attrs"])
        chunks: dict[int, list] = {}
        for position in sorted(positions):
            at = position % BLOCK_DOCS
            fields, *texts = changes[position][1]
            for field, (_, text) in zip(TEXT_FIELDS, texts, strict=True):
                lengths[field][at] = length_to_byte(len(text.split()))
            attrs["source"][at] = fields.get("source", "")
            published = fields.get("published")
            attrs["date"][at] = int(published.replace("-", "")) if published else 0
            attrs["story"][at] = fields.get("story", "")
            chunk = at // DOC_CHUNK
            if chunk not in chunks:
                chunks[chunk] = files.read(shard["docs"][chunk])
            chunks[chunk][at % DOC_CHUNK] = _doc_record(fields)
        shard["attrs"] = files.replace(shard["attrs"], "a", f"{block:x}", attrs)
        for chunk, records in chunks.items():
            shard["docs"][chunk] = files.replace(shard["docs"][chunk], "d",
                                                 f"{block:x}-{chunk:x}", records)
        shard["lengths"] = {f: base64.b64encode(bytes(v)).decode() for f, v in lengths.items()}
        names[block] = files.replace(names[block], "l", f"{block:x}", shard)
    return names

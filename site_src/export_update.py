"""Update the static search export in place when documents changed, came or went.

A clean export (search_export.export_static) encodes every posting of every document. When a
rebuild only changes the text of some documents (an edited article), every other document
keeps its number in export order, so only a few shards change: the term and positions
shards of the terms those documents held or now hold, the vocabulary shards of those terms,
the length, attribute and document shards of their blocks, and meta.json. When documents
come or go (or an edit moves one in export order), the documents after the first change are
renumbered: every term shard's postings are renumbered in one vectorised pass (positions
are per document and stay as they are), and the blocks from the first change on are
exported again from the previous shards' records. Either way this module rewrites only
those files, from the previous export's files and the cached entries of the documents that
changed or left, and gives the same bytes a clean export gives. A new number of term shards
is left to the clean export: `update_export` then returns None.
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
    _export_blocks,
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
    return _encode_widths(numbers)[0]


def _encode_widths(numbers: np.ndarray) -> tuple[str, np.ndarray]:
    """Return encode_array(numbers) and how many characters each number takes."""
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
    return _CHARS[digit].tobytes().decode("ascii"), width


def _spot_code(spots: list[int]) -> str:
    """Return the positions code of one document's occurrences of a term."""
    return encode_array(np.diff(np.array([0, *spots], dtype=np.int64)))


def _find_heads(numbers: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """Return where the entry heads of postings numbers are (see parse_pairs); `fresh` marks
    numbers known to start an entry."""
    index = np.arange(len(numbers))
    odd = (numbers & 1).astype(bool)
    fresh = fresh | np.concatenate([[True], ~odd[:-1]])
    start = np.maximum.accumulate(np.where(fresh, index, 0))
    return index[(index - start) % 2 == 0]


def parse_pairs(pairs: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the documents and term frequencies of a postings code (vectorised).

    A number is an entry's head (gap * 2, plus 1 when a frequency follows) unless the number
    before it is an odd head; so along a run of odd numbers heads and frequencies alternate.
    """
    numbers = decode_array(pairs)[0]
    heads = _find_heads(numbers, np.zeros(len(numbers), bool))
    tfs = np.ones(len(heads), np.int64)
    many = (numbers[heads] & 1).astype(bool)
    tfs[many] = numbers[heads[many] + 1]
    return np.cumsum(numbers[heads] >> 1) - 1, tfs


def remap_codes(codes: list[str], moved: np.ndarray) -> list[str]:
    """Return postings codes with every document d renumbered moved[d] (order kept), all
    codes at once."""
    if not codes:
        return []
    lengths = np.fromiter(map(len, codes), np.int64, len(codes))
    numbers, starts = decode_array("".join(codes))
    owner = np.searchsorted(np.cumsum(lengths) - lengths, starts, side="right") - 1
    first = np.concatenate([[True], owner[1:] != owner[:-1]])
    heads = _find_heads(numbers, first)
    gaps = numbers[heads] >> 1
    leading = np.flatnonzero(first[heads])  # each code's first head
    within = np.repeat(np.cumsum(gaps)[leading] - gaps[leading],
                       np.diff(np.append(leading, len(heads))))
    docs = moved[np.cumsum(gaps) - within - 1]
    before = np.concatenate([[-1], docs[:-1]])
    before[leading] = -1
    numbers = numbers.copy()
    numbers[heads] = (docs - before) * 2 + (numbers[heads] & 1)
    text, width = _encode_widths(numbers)
    ends = np.cumsum(np.add.reduceat(width, np.flatnonzero(first))).tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def splice(pairs: str, places: str, moved: np.ndarray, added: Mapping[int, list[int]]
           ) -> tuple[int, str, str]:
    """Return a term's document frequency, postings and positions codes after renumbering
    each document d to moved[d] (-1: it leaves) and adding documents (new number -> the
    term's positions there)."""
    docs, tfs = parse_pairs(pairs)
    starts = np.append(decode_array(places)[1], len(places))
    at = starts[np.concatenate([[0], np.cumsum(tfs)])]  # where each entry's positions start
    mapped = moved[docs]
    kept = np.flatnonzero(mapped >= 0)
    new_docs = np.array(sorted(added), np.int64)
    slots = np.searchsorted(mapped[kept], new_docs)
    pieces: list[str] = []
    cursor = 0
    for slot, doc in zip(slots.tolist(), new_docs.tolist(), strict=True):
        pieces.extend(_slices(places, at, kept[cursor:slot]))
        pieces.append(_spot_code(added[doc]))
        cursor = slot
    pieces.extend(_slices(places, at, kept[cursor:]))
    doc_array = np.insert(mapped[kept], slots, new_docs)
    tf_array = np.insert(tfs[kept], slots, [len(added[d]) for d in new_docs.tolist()])
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


def _slices(text: str, at: np.ndarray, entries: np.ndarray) -> list[str]:
    """Return the positions of entries (ascending), consecutive entries in one slice."""
    if not len(entries):
        return []
    breaks = np.flatnonzero(np.diff(entries) != 1) + 1
    firsts = entries[np.concatenate([[0], breaks])].tolist()
    lasts = entries[np.concatenate([breaks - 1, [len(entries) - 1]])].tolist()
    return [text[at[a]:at[b + 1]] for a, b in zip(firsts, lasts, strict=True)]


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


def update_export(folder: Path, meta: dict, terms_total: int, moved: np.ndarray,
                  removed: Mapping[int, Entry], added: Mapping[int, Entry]
                  ) -> tuple[dict[str, bytes], set[str], int] | None:
    """Update the export in folder (its parsed meta.json and term count given): document d
    becomes document moved[d] (order kept; -1 for the removed ones, whose entries are given
    by old number), and the added documents' entries (by new number) come in.

    Returns (new files, previous files no longer used, term count), or None when only a clean
    export can follow the change (the number of term shards changes).
    """
    count = int((moved >= 0).sum()) + len(added)
    kept = np.flatnonzero(moved >= 0)
    shifted = count != len(moved) or not np.array_equal(moved[kept], kept)
    totals = dict(meta["field_length"])
    adds: dict[str, dict[str, dict[int, list[int]]]] = {f: {} for f in TEXT_FIELDS}
    touched: set[str] = set()
    for entries, sign in ((removed, -1), (added, 1)):
        for number, entry in entries.items():
            for slot, field in enumerate(TEXT_FIELDS, start=1):
                words = entry[slot][1].split()
                totals[field] += sign * len(words)
                spots = group_positions(entry[slot][0], words)
                touched.update(spots)
                for term, where in spots.items() if sign > 0 else ():
                    adds[field].setdefault(term, {})[number] = where
    files = _Files(folder)
    names = list(meta["terms"])
    buckets: dict[int, list[str]] = {b: [] for b, name in enumerate(names) if name and shifted}
    for term in sorted(touched):
        buckets.setdefault(term_bucket(term, meta["buckets"]), []).append(term)
    counts: dict[str, int] = {}  # touched term -> new frequency over fields
    was: dict[str, bool] = {}
    for bucket, texts in sorted(buckets.items()):
        shard = files.read(names[bucket]) if names[bucket] else {"pos": "", "terms": {}}
        if shifted:
            _remap_shard(shard["terms"], set(texts), moved)
        if not texts:
            names[bucket] = files.replace(names[bucket], "t", f"{bucket:x}", shard)
            continue
        positions = files.read(shard["pos"]) if shard["pos"] else {}
        for term in texts:
            fields = shard["terms"].get(term, {})
            was[term] = bool(fields)
            for field in TEXT_FIELDS:
                df, pairs, places = splice(fields.get(field, [0, ""])[1],
                                           positions.get(term, {}).get(field, ""), moved,
                                           adds[field].get(term, {}))
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
    blocks = (_rewrite_blocks(files, list(meta["blocks"]), moved, added) if shifted
              else _update_blocks(files, list(meta["blocks"]), added))
    meta = {**meta, "doc_count": count, "docs": count, "field_length": totals, "terms": names,
            "vocab": vocab, "blocks": blocks}
    files.made["meta.json"] = to_json(meta)
    dropped = files.dropped - files.made.keys()
    made = {name: data for name, data in files.made.items()  # shard names hash their bytes
            if name == "meta.json" or not (folder / name).exists()}
    return made, dropped, terms_total


def _remap_shard(terms: dict[str, dict[str, list]], skip: set[str], moved: np.ndarray) -> None:
    """Renumber the documents of a term shard's postings (terms in skip left alone)."""
    spots = [(term, field) for term, fields in terms.items() if term not in skip
             for field in fields]
    codes = remap_codes([terms[term][field][1] for term, field in spots], moved)
    for (term, field), code in zip(spots, codes, strict=True):
        terms[term][field][1] = code


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


def _update_blocks(files: _Files, names: list[str], changes: Mapping[int, Entry]) -> list[str]:
    """Rewrite the length, attribute and document shards of the blocks of documents whose
    entries changed in place (number -> new entry)."""
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
            fields, *texts = changes[position]
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


def _rewrite_blocks(files: _Files, names: list[str], moved: np.ndarray,
                    added: Mapping[int, Entry]) -> list[str]:
    """Export afresh the blocks from the first one whose documents moved, came or went,
    reading the documents that stayed from the previous shards."""
    first = min([*added, *np.flatnonzero(moved != np.arange(len(moved))).tolist()])
    block = first // BLOCK_DOCS
    records: list[dict] = []
    lengths: dict[str, bytearray] = {f: bytearray() for f in TEXT_FIELDS}
    for name in names[block:]:
        shard = files.read(name)
        files.dropped.update([name, shard["attrs"], *shard["docs"]])
        for field, code in shard["lengths"].items():
            lengths[field] += base64.b64decode(code)
        for chunk in shard["docs"]:
            records.extend(files.read(chunk))
    base = block * BLOCK_DOCS
    count = int((moved >= 0).sum()) + len(added)
    source = np.full(count - base, -1, np.int64)
    stayed = np.flatnonzero(moved >= base)
    source[moved[stayed] - base] = stayed - base
    new_records, new_lengths = [], {f: bytearray() for f in TEXT_FIELDS}
    for number, old in enumerate(source.tolist(), start=base):
        if old >= 0:
            new_records.append(records[old])
            for field in TEXT_FIELDS:
                new_lengths[field].append(lengths[field][old])
            continue
        fields, *texts = added[number]
        new_records.append(_doc_record(fields))
        for field, (_, text) in zip(TEXT_FIELDS, texts, strict=True):
            new_lengths[field].append(length_to_byte(len(text.split())))
    made, tail = _export_blocks(new_records, {f: bytes(v) for f, v in new_lengths.items()},
                                block)
    files.made.update(made)
    return names[:block] + tail

"""Analysed text kept as compact token arrays and turned into postings all at once.

The index writer and the static export both need, per field, every (term, document)
posting with its positions. Grouping them document by document in Python dicts was most of
a build's time; here each document only appends its term numbers, and numpy sorts and
encodes the postings of a whole field in a few array passes: the static export's varint
codes (`varint_groups`) and the bytes Whoosh's Positions format stores (`position_values`,
equal to search_analysis.encode_positions, tested).
"""

from __future__ import annotations

import itertools
import pickle
from array import array
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
_ALPHABET = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_BATCH = 1000  # pickle writes list items in batches of this many (not vectorised here)


@dataclass(frozen=True)
class Postings:
    """One field's postings sorted by term number, then document; tokens in the same order."""

    term: np.ndarray  # per posting: term number
    doc: np.ndarray  # per posting: document
    tf: np.ndarray  # per posting: number of positions
    starts: np.ndarray  # per posting: its first token
    gaps: np.ndarray  # per token: position minus the posting's previous one (first: itself)


class TokenStore:
    """Per field, every document's term numbers (and positions when not consecutive)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.vocabulary: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        self.ids = {name: array("i") for name in names}  # every token's term number
        self.spots = {name: array("i") for name in names}  # positions given with `where`
        self.docs = {name: array("i") for name in names}  # (document, tokens, offset or -1)

    def add_terms(self, name: str, doc: int, offset: int, terms: list[str]) -> None:
        """Add a document's analysed field: terms at positions offset, offset + 1, ..."""
        self.ids[name].fromlist(list(map(self.vocabulary.__getitem__, terms)))
        self.docs[name].fromlist([doc, len(terms), offset])

    def add_where(self, name: str, doc: int, where: dict[str, list[int]]) -> None:
        """Add a document's field given as term -> rising positions."""
        ids, spots, number = self.ids[name], self.spots[name], self.vocabulary.__getitem__
        count = 0
        for term, places in where.items():
            ids.fromlist([number(term)] * len(places))
            spots.fromlist(places)
            count += len(places)
        self.docs[name].fromlist([doc, count, -1])

    def texts(self) -> list[str]:
        """Return the terms by number."""
        return list(self.vocabulary)

    def payload(self) -> tuple[list[str], dict[str, tuple[bytes, bytes, bytes]]]:
        """Return the store as plain picklable data (for a forked writer to send back)."""
        return self.texts(), {name: (self.ids[name].tobytes(), self.docs[name].tobytes(),
                                     self.spots[name].tobytes()) for name in self.ids}

    def absorb(self, payload: tuple, shift: int) -> None:
        """Append another store's documents (from payload()), their numbers raised by shift."""
        texts, fields = payload
        number = self.vocabulary.__getitem__
        mapping = np.array([number(text) for text in texts] or [0], dtype=np.int32)
        for name, (ids, docs, spots) in fields.items():
            self.ids[name].frombytes(mapping[np.frombuffer(ids, dtype=np.int32)].tobytes())
            table = np.frombuffer(docs, dtype=np.int32).reshape(-1, 3).copy()
            table[:, 0] += shift
            self.docs[name].frombytes(table.tobytes())
            self.spots[name].frombytes(spots)

    def counts(self, name: str) -> list[int]:
        """Return each added document's number of tokens in a field, in order."""
        return self.docs[name][1::3].tolist()

    def term_ranges(self, name: str, tokens: int) -> list[tuple[int, int]]:
        """Split a field's term numbers into consecutive ranges of about `tokens` tokens."""
        ids = np.frombuffer(self.ids[name], dtype=np.int32)
        per_term = np.cumsum(np.bincount(ids, minlength=len(self.vocabulary)))
        cuts = np.searchsorted(per_term, np.arange(tokens, len(ids), tokens), side="right")
        bounds = [0, *sorted(set(cuts.tolist()) - {0, len(per_term)}), len(per_term)]
        return list(itertools.pairwise(bounds))

    def postings(self, name: str, terms: tuple[int, int] | None = None) -> Postings | None:
        """Return a field's postings (documents must have been added in rising order), or
        those of the term numbers in range(*terms), numbered from its start.

        Per-token arrays are 32-bit (a field holds fewer than 2**31 tokens), and a range's
        arrays hold its own tokens only, so that a whole corpus's postings fit in memory
        beside the site.
        """
        ids = np.frombuffer(self.ids[name], dtype=np.int32)
        docs = np.frombuffer(self.docs[name], dtype=np.int32).reshape(-1, 3)
        counts = docs[:, 1].astype(np.int64)
        ends = np.cumsum(counts)  # each document's tokens end here
        if terms is None:
            tokens = np.arange(len(ids), dtype=np.int64)
            row = np.repeat(np.arange(len(docs), dtype=np.int32), counts)  # token's document
        else:
            tokens = np.flatnonzero((ids >= terms[0]) & (ids < terms[1]))
            row = np.searchsorted(ends, tokens, side="right").astype(np.int32)
        if not len(tokens):
            return None
        sub = ids[tokens] - (terms[0] if terms else 0)
        order = np.argsort(sub, kind="stable")  # by term, then document and position
        term_of = sub[order]
        del sub
        within = (tokens - (ends - counts)[row]).astype(np.int32)
        del tokens
        offset = docs[row, 2]
        given = offset < 0  # positions given with `where`, in the order of their tokens
        spots = within + offset
        if given.any():
            listed = np.where(docs[:, 2] < 0, counts, 0)  # tokens whose positions are listed
            spots[given] = np.frombuffer(self.spots[name], dtype=np.int32)[
                (np.cumsum(listed) - listed)[row[given]] + within[given]]
        del within, offset, given
        doc = docs[row, 0][order]
        del row
        spots = spots[order]
        del order
        fresh = np.ones(len(term_of), dtype=bool)  # a posting's first token
        fresh[1:] = (term_of[1:] != term_of[:-1]) | (doc[1:] != doc[:-1])
        starts = np.flatnonzero(fresh)
        del fresh
        gaps = spots.copy()
        gaps[1:] -= spots[:-1]
        gaps[starts] = spots[starts]
        del spots
        return Postings(term=term_of[starts].astype(np.int64), doc=doc[starts].astype(np.int64),
                        tf=np.diff(np.append(starts, len(term_of))), starts=starts,
                        gaps=gaps)


def export_codes(postings: Postings) -> tuple[str, list[int], str, list[int]]:
    """Return the static export's postings codes (doc gap * 2, + 1 and the frequency when
    above one) and positions codes (gaps) of every term, as strings and per-term offsets."""
    term, doc, tf = postings.term, postings.doc, postings.tf
    before = np.empty_like(doc)
    before[0] = -1
    before[1:] = doc[:-1]
    first = np.ones(len(term), dtype=bool)
    first[1:] = term[1:] != term[:-1]
    before[first] = -1
    many = tf > 1
    width = 1 + many
    numbers = np.empty(int(width.sum()), dtype=np.int64)
    at = np.cumsum(width) - width
    numbers[at] = (doc - before) * 2 + many
    numbers[at[many] + 1] = tf[many]
    pairs, pair_at = varint_groups(numbers, np.repeat(term, width))
    places, place_at = varint_groups(postings.gaps, np.repeat(term, tf))
    return pairs, pair_at, places, place_at


def varint_groups(numbers: np.ndarray, groups: np.ndarray) -> tuple[str, list[int]]:
    """Return search_analysis.encode_numbers of a number stream sorted by group, as one
    string, and where each group starts in it (index = group; one more entry: the end)."""
    digits = np.ones(len(numbers), dtype=np.int8)  # base-32 digits (an int64 has 13 at most)
    rest = numbers >> 5
    while rest.any():
        digits += rest > 0
        rest >>= 5
    del rest
    total = int(digits.sum(dtype=np.int64))
    index = np.int32 if max(total, len(numbers)) < 2**31 else np.int64
    owner = np.repeat(np.arange(len(numbers), dtype=index), digits)
    place = np.arange(total, dtype=index)
    place -= np.repeat((np.cumsum(digits, dtype=np.int64) - digits).astype(index), digits)
    place = place.astype(np.int8)  # the digit's place in its number
    value = ((numbers[owner] >> (5 * place)) & 31).astype(np.uint8)
    value[place < digits[owner] - 1] += 32  # a continued digit
    del owner, place
    text = _ALPHABET[value].tobytes().decode("ascii")
    sizes = np.bincount(groups, weights=digits).astype(np.int64)
    return text, [0, *np.cumsum(sizes).tolist()]


_OPCODE = np.array([ord("K"), ord("M"), ord("J")], dtype=np.uint8)
_WIDTH = np.array([1, 2, 4], dtype=np.int64)


def position_values(postings: Postings) -> list[bytes]:
    """Return each posting's value in Whoosh's Positions format: a 4-byte big-endian count,
    then the protocol-2 pickle of the position gaps (what encode_positions returns)."""
    data, bounds, long = position_data(postings)
    values = [data[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    for number, value in long.items():
        values[number] = value
    return values


def position_data(postings: Postings) -> tuple[bytes, np.ndarray, dict[int, bytes]]:
    """Return every posting's Positions value (position_values) laid end to end: the bytes,
    where each value starts (one more entry: the end), and the values of postings with more
    than _BATCH positions, which replace their slice (pickle batches long lists)."""
    gaps, tf = postings.gaps, postings.tf
    kind = (gaps > 0xFF).astype(np.int64) + (gaps > 0xFFFF)  # K, M or J (pickle's ints)
    item = 1 + _WIDTH[kind]
    token_posting = np.repeat(np.arange(len(tf)), tf)
    many = (tf > 1).astype(np.int64)
    body = np.bincount(token_posting, weights=item, minlength=len(tf)).astype(np.int64)
    del token_posting
    size = 4 + 5 + many + body + 2  # count, pickle header, "(", items, "a"|"e" and "."
    end = np.cumsum(size)
    start = end - size
    out = np.zeros(int(end[-1]), dtype=np.uint8)
    for shift in range(4):  # the count, big-endian
        out[start + shift] = (tf >> (8 * (3 - shift))) & 0xFF
    for place, byte in enumerate(b"\x80\x02]q\x00"):  # the pickle header
        out[start + 4 + place] = byte
    out[start[many == 1] + 9] = ord("(")
    token_start = np.cumsum(item) - item  # items laid out one after another per posting
    into = token_start - np.repeat(token_start[postings.starts], tf)
    at = np.repeat(start + 9 + many, tf) + into
    del into, token_start
    out[at] = _OPCODE[kind]
    for shift in range(4):  # the value, little-endian, as wide as its opcode
        write = _WIDTH[kind] > shift
        out[at[write] + 1 + shift] = (gaps[write] >> (8 * shift)) & 0xFF
    out[end - 2] = np.where(many == 1, ord("e"), ord("a"))
    out[end - 1] = ord(".")
    long = {}
    for number in np.flatnonzero(tf > _BATCH).tolist():  # long lists: pickle batches them
        first = int(postings.starts[number])
        spots = np.cumsum(gaps[first : first + int(tf[number])]).tolist()
        long[number] = (int(tf[number])).to_bytes(4, "big") + pickle.dumps(
            [b - a for a, b in zip([0, *spots], spots, strict=False)], 2)
    return out.tobytes(), np.append(start, end[-1]), long


class FieldPostings:
    """One field's postings kept as arrays: what TermLists hand out a slice at a time."""

    def __init__(self, postings: Postings) -> None:
        self.term, self.doc, self.tf = postings.term, postings.doc, postings.tf
        self.data, self.bounds, self.long = position_data(postings)

    def term_lists(self, texts: list[str]) -> list[tuple[bytes, TermLists]]:
        """Return (term bytes, its postings as TermLists) per term, by term number."""
        term = self.term
        cuts = np.flatnonzero(np.append(True, term[1:] != term[:-1]))
        ends = np.append(cuts[1:], len(term))
        return [(texts[number].encode("utf-8"), TermLists(self, start, stop))
                for number, start, stop in zip(term[cuts].tolist(), cuts.tolist(),
                                               ends.tolist(), strict=True)]

    def column(self, which: int, start: int, stop: int) -> list:
        """Return one column (docnums, weights or values) of postings start..stop as a list."""
        if which == 0:
            return self.doc[start:stop].tolist()
        if which == 1:
            return self.tf[start:stop].astype(float).tolist()
        bounds, data = self.bounds[start : stop + 1].tolist(), self.data
        values = [data[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=False)]
        for number, value in self.long.items():
            if start <= number < stop:
                values[number - start] = value
        return values


class TermLists:
    """A term's (docnums, weights, values) postings lists, made from the field's arrays only
    when read (a whole field's lists as Python objects would be most of a writer's memory)."""

    __slots__ = ("field", "start", "stop")

    def __init__(self, field: FieldPostings, start: int, stop: int) -> None:
        self.field, self.start, self.stop = field, start, stop

    def __len__(self) -> int:
        """Return 3: docnums, weights, values."""
        return 3

    def __getitem__(self, which: int) -> PostingColumn:
        """Return column 0 (docnums), 1 (weights) or 2 (values)."""
        if not 0 <= which < 3:
            raise IndexError(which)
        return PostingColumn(self, which)


class PostingColumn:
    """One column of a term's postings: a sequence whose slices are made when asked for."""

    __slots__ = ("lists", "which")

    def __init__(self, lists: TermLists, which: int) -> None:
        self.lists, self.which = lists, which

    def __len__(self) -> int:
        """Return the number of postings."""
        return self.lists.stop - self.lists.start

    def __getitem__(self, where: int | slice) -> object:
        """Return one posting's entry, or a list of a slice's entries."""
        start, stop = self.lists.start, self.lists.stop
        if isinstance(where, slice):
            low, high, step = where.indices(stop - start)
            if step != 1:
                return self[:][where]
            return self.lists.field.column(self.which, start + low, start + max(low, high))
        if where < 0:
            where += stop - start
        if not 0 <= where < stop - start:
            raise IndexError(where)
        return self.lists.field.column(self.which, start + where, start + where + 1)[0]

    def __iter__(self):
        """Iterate over the whole column."""
        return iter(self[:])

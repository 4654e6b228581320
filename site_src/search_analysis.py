"""Analysis shared by the Whoosh writer and the static export, done once per document.

`analyse_text` gives the terms and positions Whoosh's StemmingAnalyzer gives (tested); the
writer (`add_analysed`, `TermPool`) feeds them to a Whoosh SegmentWriter and writes whole
posting blocks: an index that reads back exactly as Whoosh's own add_document/commit writes
it (tested; posting block data is pickled with protocol 5, and blocks of fewer than
SMALL_BLOCK postings are left uncompressed),
and `ExportPostings` encodes the same postings for search.js. Postings are grouped and
encoded a whole field at a time (search_tokens).
"""

from __future__ import annotations

import pickle
import re
import types
import zlib
from collections import defaultdict

import numpy as np
from whoosh.analysis import StemmingAnalyzer, StopFilter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.fields import Schema
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte

from site_src.search_tokens import (  # noqa: F401 - ALPHABET re-exported
    ALPHABET,
    TokenStore,
    export_codes,
    position_values,
)


class _SortedStopFilter(StopFilter):
    """Whoosh's StopFilter, pickled (into the index's TOC) with its stop words sorted: a
    frozenset pickles in string-hash order, which changes from one Python process to the next.
    It unpickles as a plain StopFilter."""

    def __reduce__(self) -> tuple:
        """Pickle as StopFilter(sorted stop words, minsize, maxsize, renumber)."""
        return StopFilter, (sorted(self.stops), self.min, self.max, self.renumber)


def make_analyzer():
    """Return Whoosh's StemmingAnalyzer with a stop filter that pickles deterministically."""
    analyzer = StemmingAnalyzer()
    stop = analyzer.items[2]
    analyzer.items[2] = _SortedStopFilter(sorted(stop.stops), stop.min, stop.max, stop.renumber)
    return analyzer


ANALYZER = make_analyzer()

TOKEN = re.compile(r"[\w*]+(?:\.?[\w*]+)*")  # Whoosh's default_pattern, without a group
_TERMS: dict[str, str] = {}  # word as written -> its index term ("" for a stop word)
TEXT_NAMES = ("title", "body")


def _term_of_word(word: str) -> str:
    """Return the index term of one token as written ("" when the stop filter drops it)."""
    _tokenizer, _lower, stop, stemmer = ANALYZER.items
    text = word.lower()
    if len(text) < stop.min or text in stop.stops:
        return ""
    return text if text in stemmer.ignore else stemmer.stemfn(text)


def analyse_text(text: str) -> tuple[int, list[str]]:
    """Return (position of the first term, terms in order), exactly as ANALYZER indexes text.

    Whoosh numbers the first kept token by its place among all tokens and the rest
    consecutively after it (StopFilter renumbering), so positions are offset + i.
    """
    words = TOKEN.findall(text)
    cache = _TERMS
    if len(cache) > 2_000_000:
        cache.clear()
    try:
        mapped = list(map(cache.__getitem__, words))
    except KeyError:  # words not seen before: analyse them once
        for word in set(words).difference(cache):
            cache[word] = _term_of_word(word)
        mapped = list(map(cache.__getitem__, words))
    terms = list(filter(None, mapped))
    if not terms or mapped[0]:
        return 0, terms
    return next(i for i, t in enumerate(mapped) if t), terms


def group_positions(offset: int, terms: list[str]) -> dict[str, list[int]]:
    """Return term -> positions, terms in order of first appearance."""
    where: dict[str, list[int]] = {}
    for spot, term in enumerate(terms, offset):
        spots = where.get(term)
        if spots is None:
            where[term] = [spot]
        else:
            spots.append(spot)
    return where


_ONE_POSITION: dict[int, bytes] = {}
_ONE = pack_uint(1)


def encode_positions(spots: list[int]) -> bytes:
    """Return the bytes whoosh.formats.Positions.encode makes of a position list (tested)."""
    if len(spots) == 1:  # a new bytes object each time, as Whoosh's (pickle memoises shared ones)
        code = _ONE_POSITION.get(spots[0])
        if code is None:
            code = _ONE_POSITION[spots[0]] = pickle.dumps(spots, 2)
        return _ONE + code
    deltas = [b - a for a, b in zip([0, *spots], spots, strict=False)]
    return pack_uint(len(deltas)) + pickle.dumps(deltas, 2)


class TermPool:
    """Postings kept grouped by term as documents arrive (in docnum order), written term by
    term in whole blocks: what Whoosh's sorting pool and FieldWriter.add_postings produce one
    posting at a time, byte for byte (tested). Each term has (docnums, weights, values)."""

    def __init__(self) -> None:
        self.lists: dict[tuple[str, bytes], tuple] = {}  # other fields
        self.store = TokenStore(TEXT_NAMES)
        self.lengths: dict[str, list[int]] = {name: [] for name in TEXT_NAMES}

    def add(self, item: tuple) -> None:
        """Add one (fieldname, term bytes, docnum, weight, value bytes) posting."""
        lists = self.lists.get((item[0], item[1]))
        if lists is None:
            lists = self.lists[(item[0], item[1])] = ([], [], [])
        lists[0].append(item[2])
        lists[1].append(item[3])
        lists[2].append(item[4])

    def add_text(self, name: str, docnum: int, offset: int, terms: list[str]) -> None:
        """Add one document's analysed text field (terms at offset, offset + 1, ...)."""
        self.store.add_terms(name, docnum, offset, terms)

    def _text_items(self) -> list[tuple[str, bytes, tuple]]:
        """Return (field, term bytes, (docnums, weights, values)) of the text fields."""
        texts, items = self.store.texts(), []
        for name in TEXT_NAMES:
            postings = self.store.postings(name)
            if postings is None:
                continue
            values = position_values(postings)
            docs, weights = postings.doc.tolist(), postings.tf.astype(float).tolist()
            term = postings.term
            bounds = np.flatnonzero(np.append(True, term[1:] != term[:-1])).tolist()
            for start, end in zip(bounds, [*bounds[1:], len(term)], strict=True):
                items.append((name, texts[int(term[start])].encode("utf-8"),
                              (docs[start:end], weights[start:end], values[start:end])))
        return items

    def _sorted(self) -> list[tuple[str, bytes, tuple]]:
        """Return (field, term bytes, postings), sorted as Whoosh writes them."""
        items = [(name, text, lists) for (name, text), lists in self.lists.items()]
        return sorted(items + self._text_items(), key=lambda item: (item[0], item[1]))

    def iter_postings(self):
        """Yield every posting sorted by field, term and document (Whoosh's pool interface)."""
        for name, text, lists in self._sorted():
            for docnum, weight, value in zip(*lists, strict=True):
                yield name, text, docnum, weight, value

    def write(self, fieldwriter, schema: Schema) -> None:
        """Write every posting list through a Whoosh field writer, sorted by field and term."""
        current = None
        for name, text, lists in self._sorted():
            if name != current:
                if current is not None:
                    fieldwriter.finish_field()
                fieldwriter.start_field(name, schema[name])
                postwriter = fieldwriter._postwriter
                postwriter._write_block = types.MethodType(write_block, postwriter)
                current = name
            fieldwriter.start_term(text)
            _fill_postings(fieldwriter._postwriter, lists, self.lengths.get(name))
            fieldwriter.finish_term()
        if current is not None:
            fieldwriter.finish_field()

    def cleanup(self) -> None:
        """Forget the postings."""
        self.lists = {}
        self.store = TokenStore(TEXT_NAMES)


COMPRESSION = 3  # Whoosh's zlib level for posting blocks
BLOCK_PICKLE = 5  # posting block data: Whoosh pickles with protocol 2 (bytes as latin-1 text)
SMALL_BLOCK = 4  # posting blocks shorter than this are not compressed


def write_block(self, last: bool = False) -> None:
    """W3PostingsWriter._write_block (bound to one), its block data pickled with protocol 5:
    position values as plain bytes, smaller and several times faster to write and read
    (Whoosh unpickles any protocol; the block info stays protocol 2)."""
    if not self._blockcount:
        self._postfile.write(WHOOSH3_HEADER_MAGIC)
    self._terminfo.add_block(self)
    data = (self._mini_ids(), self._mini_weights(), self._mini_values())
    databytes = pickle.dumps(data, BLOCK_PICKLE)
    if self._compression:
        databytes = zlib.compress(databytes, self._compression)
    info = (len(self._ids), self._ids[-1], self._maxweight, self._compression,
            length_to_byte(self._minlength), length_to_byte(self._maxlength))
    infobytes = pickle.dumps(info, 2)
    length = len(infobytes) + len(databytes)
    self._postfile.write_int(-length if last else length)  # negative: the last block
    self._postfile.write(infobytes)
    self._postfile.write(databytes)
    self._blockcount += 1
    self._new_block()


def _fill_postings(writer, lists: tuple, lengths: list[int] | None) -> None:
    """Fill a W3PostingsWriter's blocks as its add_posting would, a block at a time; blocks
    of fewer than SMALL_BLOCK postings are stored uncompressed (zlib gains nothing there but
    costs a compressor per block; Whoosh reads the level from each block's header)."""
    docnums, weights, values = lists
    limit = writer._blocklimit
    writer._compression = COMPRESSION
    for at in range(0, len(docnums), limit):
        if at:
            writer._write_block()
        ids, scores = docnums[at : at + limit], weights[at : at + limit]
        writer._ids.extend(ids)
        writer._weights.extend(scores)
        writer._values.extend(filter(None, values[at : at + limit]))
        writer._maxweight = max(writer._maxweight, *scores)
        if lengths is not None:
            sizes = list(filter(None, map(lengths.__getitem__, ids)))
            if sizes:
                low = min(sizes)
                if writer._minlength is None or low < writer._minlength:
                    writer._minlength = low
                writer._maxlength = max(writer._maxlength, *sizes)
    writer._compression = COMPRESSION if len(writer._ids) >= SMALL_BLOCK else 0  # the last


EXPORT_RANGE_TOKENS = 2_000_000  # tokens whose postings the export encodes at a time


class ExportPostings:
    """Postings in the static export's encoding, per field, as documents arrive in export
    order (kept as token arrays; `terms` encodes them a range of terms at a time)."""

    def __init__(self) -> None:
        self.store = TokenStore(TEXT_NAMES)
        self.sizes: dict[str, bytearray] = {name: bytearray() for name in TEXT_NAMES}

    @classmethod
    def joined(cls, payloads: list[tuple[int, tuple]]) -> ExportPostings:
        """Return the postings of consecutive runs of documents, each given as (first
        docpos, TokenStore.payload() of documents numbered from 0, added with add_terms)."""
        postings = cls()
        for shift, payload in payloads:
            postings.store.absorb(payload, shift)
        for name in TEXT_NAMES:
            postings.sizes[name].extend(map(length_to_byte, postings.store.counts(name)))
        return postings

    def add(self, name: str, docpos: int, where: dict[str, list[int]], length: int) -> None:
        """Add one document's field (term -> positions); documents must come in order."""
        self.store.add_where(name, docpos, where)
        self.sizes[name].append(length_to_byte(length))

    def add_document(self, docpos: int, analysed: tuple) -> None:
        """Add the analysed fields ((offset, terms) per TEXT_NAMES) of the next document."""
        for name, (offset, terms) in zip(TEXT_NAMES, analysed, strict=True):
            self.store.add_terms(name, docpos, offset, terms)
            self.sizes[name].append(length_to_byte(len(terms)))

    def terms(self, frequency=None) -> dict[str, dict[str, tuple]]:
        """Return term -> field -> (doc frequency, postings code, positions code)."""
        texts = self.store.texts()
        out: dict[str, dict[str, tuple]] = defaultdict(dict)
        for name in TEXT_NAMES:  # a range of terms at a time: bounded scratch arrays
            for first, end in self.store.term_ranges(name, EXPORT_RANGE_TOKENS):
                postings = self.store.postings(name, (first, end))
                if postings is None:
                    continue
                pairs, pair_at, places, place_at = export_codes(postings)
                counts = np.bincount(postings.term)
                for number in np.flatnonzero(counts).tolist():
                    term = texts[first + number]
                    out[term][name] = (
                        frequency(name, term) if frequency else int(counts[number]),
                        pairs[pair_at[number] : pair_at[number + 1]],
                        places[place_at[number] : place_at[number + 1]])
        return out


def encode_numbers(numbers: list[int]) -> str:
    """Encode non-negative integers as varints: 5 bits per character, low bits first."""
    out: list[str] = []
    for number in numbers:
        while number >= 32:
            out.append(ALPHABET[32 + (number & 31)])
            number >>= 5
        out.append(ALPHABET[number])
    return "".join(out)



def add_analysed(writer, row: dict, analysed: tuple) -> None:
    """Add one document as SegmentWriter.add_document would, with the text pre-analysed."""
    schema, docnum, pool = writer.schema, writer.docnum, writer.pool
    perdoc = writer.perdocwriter
    perdoc.start_doc(docnum)
    for name in sorted(row):
        value = row[name]
        if value is None:
            continue
        field, length = schema[name], 0
        if name in TEXT_NAMES:
            offset, terms = analysed[TEXT_NAMES.index(name)]
            pool.add_text(name, docnum, offset, terms)
            length = len(terms)
            pool.lengths[name].append(byte_to_length(length_to_byte(length)) if length else 0)
        elif field.indexed:
            for text, freq, weight, vbytes in field.index(value):
                pool.add((name, text, docnum, weight * 1.0, vbytes))
                length += freq if field.scorable else 0
        perdoc.add_field(name, field, value if field.stored else None, length)
        if field.column_type:
            perdoc.add_column_value(name, field.column_type, field.to_column_value(value))
    perdoc.finish_doc()
    writer.docnum += 1
    writer._added = True

"""Analysis shared by the Whoosh writer and the static export, done once per document.

`analyse_text` gives the terms and positions Whoosh's StemmingAnalyzer gives (tested); the
writer (`add_analysed`, `TermPool`) feeds them to a Whoosh SegmentWriter and writes whole
posting blocks, producing the segment files Whoosh's own add_document/commit would (tested),
and `ExportPostings` encodes the same postings for search.js.
"""

from __future__ import annotations

import pickle
import re
from collections import defaultdict

from whoosh.analysis import StemmingAnalyzer, StopFilter
from whoosh.fields import Schema
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte


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
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


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
    for word in words:
        if word not in cache:
            cache[word] = _term_of_word(word)
    mapped = [cache[w] for w in words]
    terms = [t for t in mapped if t]
    offset = next((i for i, t in enumerate(mapped) if t), 0) if terms else 0
    return offset, terms


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
        self.texts: dict[str, dict[str, tuple]] = {name: {} for name in TEXT_NAMES}
        self.lengths: dict[str, list[int]] = {name: [] for name in TEXT_NAMES}

    def add(self, item: tuple) -> None:
        """Add one (fieldname, term bytes, docnum, weight, value bytes) posting."""
        lists = self.lists.get((item[0], item[1]))
        if lists is None:
            lists = self.lists[(item[0], item[1])] = ([], [], [])
        lists[0].append(item[2])
        lists[1].append(item[3])
        lists[2].append(item[4])

    def add_text(self, name: str, docnum: int, where: dict[str, list[int]]) -> None:
        """Add the postings of one document's analysed text field (term -> positions)."""
        table = self.texts[name]
        for term, spots in where.items():
            lists = table.get(term)
            if lists is None:
                lists = table[term] = ([], [], [])
            lists[0].append(docnum)
            lists[1].append(float(len(spots)))
            lists[2].append(encode_positions(spots))

    def _sorted(self) -> list[tuple[str, bytes, tuple]]:
        """Return (field, term bytes, postings), sorted as Whoosh writes them."""
        items = [(name, text, lists) for (name, text), lists in self.lists.items()]
        for name, table in self.texts.items():
            items += [(name, term.encode("utf-8"), lists) for term, lists in table.items()]
        return sorted(items, key=lambda item: (item[0], item[1]))

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
                current = name
            fieldwriter.start_term(text)
            _fill_postings(fieldwriter._postwriter, lists, self.lengths.get(name))
            fieldwriter.finish_term()
        if current is not None:
            fieldwriter.finish_field()

    def cleanup(self) -> None:
        """Forget the postings."""
        self.lists = {}
        self.texts = {name: {} for name in TEXT_NAMES}


def _fill_postings(writer, lists: tuple, lengths: list[int] | None) -> None:
    """Fill a W3PostingsWriter's blocks as its add_posting would, a block at a time."""
    docnums, weights, values = lists
    limit = writer._blocklimit
    for at in range(0, len(docnums), limit):
        if at:
            writer._write_block()
        ids, scores = docnums[at : at + limit], weights[at : at + limit]
        writer._ids.extend(ids)
        writer._weights.extend(scores)
        writer._values.extend(filter(None, values[at : at + limit]))
        writer._maxweight = max(writer._maxweight, *scores)
        if lengths is not None:
            sizes = [size for size in map(lengths.__getitem__, ids) if size]
            if sizes:
                low = min(sizes)
                if writer._minlength is None or low < writer._minlength:
                    writer._minlength = low
                writer._maxlength = max(writer._maxlength, *sizes)


class ExportPostings:
    """Postings in the static export's encoding, per field, as documents arrive in export
    order: term -> [last document, postings codes, positions codes], and length bytes."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, list]] = {name: {} for name in TEXT_NAMES}
        self.sizes: dict[str, bytearray] = {name: bytearray() for name in TEXT_NAMES}

    def add(self, name: str, docpos: int, where: dict[str, list[int]], length: int) -> None:
        """Add one document's field (term -> positions); documents must come in order."""
        table, codes, top = self.tables[name], _CODES, len(_CODES)
        self.sizes[name].append(length_to_byte(length))
        for term, spots in where.items():
            row = table.get(term)
            if row is None:
                row = table[term] = [-1, [], []]
            gap, row[0] = (docpos - row[0]) * 2, docpos
            if len(spots) == 1:
                row[1].append(codes[gap] if gap < top else encode_numbers([gap]))
                spot = spots[0]
                row[2].append(codes[spot] if spot < top else encode_numbers([spot]))
            else:
                row[1].append(encode_numbers([gap + 1, len(spots)]))
                row[2].append(encode_numbers([b - a for a, b in
                                              zip([0, *spots], spots, strict=False)]))

    def add_document(self, docpos: int, analysed: tuple) -> None:
        """Add the analysed fields ((offset, terms) per TEXT_NAMES) of the next document."""
        for name, (offset, terms) in zip(TEXT_NAMES, analysed, strict=True):
            self.add(name, docpos, group_positions(offset, terms), len(terms))

    def terms(self, frequency=None) -> dict[str, dict[str, tuple]]:
        """Return term -> field -> (doc frequency, postings code, positions code)."""
        out: dict[str, dict[str, tuple]] = defaultdict(dict)
        for name, table in self.tables.items():
            for term, (_, pairs, places) in table.items():
                count = frequency(name, term) if frequency else len(pairs)
                out[term][name] = (count, "".join(pairs), "".join(places))
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


_CODES = [encode_numbers([n]) for n in range(1 << 15)]


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
            pool.add_text(name, docnum, group_positions(offset, terms))
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

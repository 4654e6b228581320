"""Writing the search index's segments: each part of the documents analysed once and
written as one Whoosh segment, large indexes in forked processes, a few at a time.

A segment writer's memory grows with its documents, so a large index is cut into segments
of at most SEGMENT_DOCS documents, written two at a time: one in a forked child, one in
this process. A child is
forked with the collector frozen (gc.freeze) and runs with it off, so that it does not copy
the parent's memory pages by touching their objects; postings stay in arrays until written.
"""

from __future__ import annotations

import gc
import os
import pickle
import random
import sys
import traceback
from collections.abc import Iterator

from whoosh import index
from whoosh.writing import SegmentWriter

from site_src.search_analysis import TEXT_NAMES, TermPool, add_analysed, analyse_text
from site_src.search_tokens import FieldPostings
from site_src.stores import frozen_heap

SPLIT_DOCS = 1000  # from this many documents on, the index is written in several segments
SEGMENT_DOCS = 5000  # ... of at most this many documents (and at least two)


class _ArrayTermPool(TermPool):
    """A TermPool whose text postings stay in arrays until each term is written (the same
    bytes; a whole segment's postings as Python lists took most of a writer's memory)."""

    def _text_items(self) -> list[tuple[str, bytes, tuple]]:
        """Return (field, term bytes, lazy (docnums, weights, values)) of the text fields."""
        texts, items = self.store.texts(), []
        for name in TEXT_NAMES:
            postings = self.store.postings(name)
            if postings is not None:
                items += [(name, text, lists)
                          for text, lists in FieldPostings(postings).term_lists(texts)]
        return items


def write_segment(ix: index.Index, rows: list[dict], seed: int) -> tuple:
    """Analyse rows and write them as one Whoosh segment (documents in row order); return
    (segment, each document's analysed fields joined for the side file, TokenStore payload)."""
    state = random.getstate()
    random.seed(seed)  # Whoosh names segments randomly: make the files reproducible
    try:
        writer = SegmentWriter(ix, _lk=False, compound=False)  # compound files record mtimes
    finally:
        random.setstate(state)
    writer.pool = pool = _ArrayTermPool()
    writer.fieldwriter.add_postings = lambda schema, _lengths, _items: pool.write(
        writer.fieldwriter, schema)
    joined = []
    for row in rows:
        analysed = analyse_row(row)
        add_analysed(writer, row, analysed)
        joined.append(joined_terms(analysed))
    payload = pool.store.payload()
    return writer._finalize_segment(), joined, payload


def _fork_segment(ix: index.Index, rows: list[dict], seed: int) -> tuple[int, int]:
    """Write a segment in a forked child; return (pid, pipe) to collect it from.

    Call with the collector frozen (gc.freeze): the child's collections then leave this
    process's objects alone, and so do not copy the memory pages that hold them.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    reading, writing = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writing)
        return pid, reading
    code = 1
    try:  # the child: write the segment, send it back, leave at once (no cleanup)
        gc.disable()  # short-lived: its garbage goes with it
        os.close(reading)
        with os.fdopen(writing, "wb") as pipe:
            pickle.dump(write_segment(ix, rows, seed), pipe, protocol=5)
        code = 0
    except BaseException:  # noqa: BLE001 - report anything, then exit non-zero
        traceback.print_exc()
    finally:
        os._exit(code)


def _collect_segment(pid: int, pipe: int) -> tuple:
    """Return what a forked child's write_segment returned; raise when it failed."""
    try:
        with os.fdopen(pipe, "rb") as handle:
            written = pickle.load(handle)
    except Exception:  # noqa: BLE001 - cut short: the exit status says why
        written = None
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0 or written is None:
        raise RuntimeError("writing the Whoosh search index failed (error printed above)")
    return written


def segment_starts(count: int) -> list[int]:
    """Return where each segment's documents start (and, last, the count): one segment below
    SPLIT_DOCS documents, else at least two of at most SEGMENT_DOCS, as even as can be."""
    parts = 1 if count < SPLIT_DOCS else max(2, -(-count // SEGMENT_DOCS))
    return [count * part // parts for part in range(parts + 1)]


def write_forked(ix: index.Index, parts: list[tuple[list[dict], int]]) -> Iterator[tuple]:
    """Write each part as a segment, yielding in order what write_segment returned, as
    each is collected: every other part in a forked child, the rest in this process
    meanwhile (one child at a time: a second would copy more of this process's pages)."""
    children: list[tuple[int, int]] = []
    try:
        for number in range(0, len(parts), 2):
            if number + 1 < len(parts):
                with frozen_heap():
                    children.append(_fork_segment(ix, *parts[number + 1]))
            yield write_here(ix, *parts[number])
            if children:
                yield _collect_segment(*children.pop(0))
    finally:
        for pid, pipe in children:  # after a failure: end the others
            os.close(pipe)
            os.waitpid(pid, 0)


def write_here(ix: index.Index, rows: list[dict], seed: int) -> tuple:
    """Write a segment in this process, returned as a child returns it (a pickle round
    trip: the segment's table of contents then pickles alike)."""
    return pickle.loads(pickle.dumps(write_segment(ix, rows, seed), protocol=5))


def analyse_row(row: dict) -> tuple[tuple[int, list[str]], tuple[int, list[str]]]:
    """Return the analysed title and body of an index row."""
    return analyse_text(row["title"] or ""), analyse_text(row["body"] or "")


def joined_terms(analysed: tuple) -> list[list]:
    """Return the side file's form of a document's analysed fields: [offset, terms joined]."""
    return [[offset, " ".join(terms)] for offset, terms in analysed]



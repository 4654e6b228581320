"""What one clustering run keeps for the next, and how the next run reuses it.

A build after an edit must find exactly the stories a clean build finds, in a fraction of the
time. The previous run's state (`ArticleRows`, kept in `.cache/features.pickle`) is reused
where it provably still holds:

- **Counts**: an article whose key (a digest of everything it carries) and page-furniture
  lines are unchanged keeps its feature counts, MinHash band keys, years and weekdays.
- **Vectors**: feature weights come from quantised document frequencies
  (`similarity.weigh_idf`), updated by the articles that came and went, so an edit changes
  the weight of few columns; an article keeps its previous unit vector when its counts were
  kept and none of its columns changed weight.
- **Candidates**: only articles whose vector changed, whose top features' postings crossed
  the cap, or who share a MinHash bucket with an article that came or went are paired again.
- **Pair scores**: a pair of two articles with unchanged vectors keeps its similarity.
- **Linking**: average linkage never merges across components of the scored pair graph, so
  a component whose members, pairs and scores are all as before keeps its previous groups;
  only the other components are linked again (`cluster.link_average`).

Every reused value is bit-identical to the one a clean run computes, so the stories are too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix, vstack

from site_src.model import Article, chronological_key
from site_src.similarity import (
    BANDS,
    HASH_BITS,
    MAX_POSTING,
    count_in_parallel,
    count_levels,
    find_furniture_lines,
    find_reuse_pairs,
    find_term_pairs,
    hash_lines,
    list_years,
    make_term_index,
    make_vectors,
    mix,
    score_pairs,
    weigh_idf,
)

MAX_PIECES = 64  # row runs copied one by one; more (a reshuffled corpus) go through indexing


@dataclass
class ArticleRows:
    """One run's clustering state, row i for keys[i] (the articles in canonical order).

    Per article: unique line hashes (flat, with offsets), which of them were furniture, word
    and name count rows, MinHash band keys, year rows, weekday masks, the unit feature vector,
    its top features (the candidate index) and its sort key. Per column: document counts and
    weights. Per run: the candidate pairs and every scored pair (codes i * n + j, sorted)
    with its similarity; per article its component of the linked pair graph and its group
    (story) label; per component a signature of its members, pairs and scores.
    """

    keys: list[str]
    lines: np.ndarray
    line_ptr: np.ndarray
    dropped: np.ndarray
    words: csr_matrix
    names: csr_matrix
    bands: np.ndarray
    years: csr_matrix
    weekdays: np.ndarray
    word_df: np.ndarray | None = None
    name_df: np.ndarray | None = None
    word_weight: np.ndarray | None = None
    name_weight: np.ndarray | None = None
    vectors: csr_matrix | None = None
    top: csr_matrix | None = None
    candidates: np.ndarray | None = None
    scored: np.ndarray | None = None
    sims: np.ndarray | None = None
    component: np.ndarray | None = None
    group: np.ndarray | None = None
    signature: np.ndarray | None = None
    sort_keys: dict[str, tuple] | None = None


@dataclass
class FeatureMemo:
    """Reuses the previous run's state (`previous`), keyed by key_of(article) (a digest of
    everything the article carries); `latest` holds this run's, to keep."""

    key_of: Callable[[Article], str]
    previous: ArticleRows | None = None
    latest: ArticleRows | None = field(default=None, repr=False)


@dataclass
class Features:
    """One run's features: unit vectors, band keys, years and weekday masks per article; per
    article its previous row (-1 when new) and whether its vector or years may differ from
    that row's."""

    vectors: csr_matrix
    bands: np.ndarray
    years: csr_matrix
    weekdays: np.ndarray
    old: np.ndarray
    redone: np.ndarray


def is_complete(rows: ArticleRows | None) -> bool:
    """Tell whether a previous run's state is whole and consistent; a state that is not (made
    by other code, or cut short) is not used at all."""
    if rows is None:
        return False
    n = len(rows.keys)
    parts = (rows.word_df, rows.name_df, rows.word_weight, rows.name_weight, rows.vectors,
             rows.top, rows.candidates, rows.scored, rows.sims, rows.component, rows.group,
             rows.signature, rows.sort_keys)
    if any(part is None for part in parts):
        return False
    counts = {rows.words.shape[0], rows.names.shape[0], rows.bands.shape[0], rows.years.shape[0],
              len(rows.weekdays), rows.vectors.shape[0], rows.top.shape[0], len(rows.component),
              len(rows.group), len(rows.line_ptr) - 1, len(rows.sort_keys)}
    return counts == {n} and len(rows.scored) == len(rows.sims)


def order_articles(articles: Sequence[Article], memo: FeatureMemo | None
                   ) -> tuple[list[Article], dict[str, tuple]]:
    """Return the articles in canonical order (model.chronological_key, then id) and their
    sort keys by article key, taking unchanged articles' keys from the previous run."""
    known = memo.previous.sort_keys if memo is not None and memo.previous is not None else None
    if memo is None:
        return sorted(articles, key=lambda a: (chronological_key(a), a.id)), {}
    keys: dict[str, tuple] = {}
    for article in articles:
        key = memo.key_of(article)
        found = known.get(key) if known else None
        keys[key] = found if found is not None else (chronological_key(article), article.id)
    return sorted(articles, key=lambda a: keys[memo.key_of(a)]), keys


def make_features(articles: Sequence[Article], window_days: float,
                  memo: FeatureMemo | None = None) -> Features:
    """Return the articles' features, reusing the memo's rows where they provably hold."""
    n = len(articles)
    if n == 0:
        empty = csr_matrix((0, 2 << HASH_BITS), dtype=np.float32)
        none = np.zeros(0, dtype=np.int64)
        return Features(empty, np.zeros((0, BANDS), np.uint64), list_years([]),
                        np.zeros(0, np.uint8), none, none.astype(bool))
    rows, old = count_features(articles, window_days, memo)
    previous = memo.previous if memo is not None else None
    rows.word_df, rows.word_weight, words_changed = weigh_columns(
        rows.words, old, previous and (previous.words, previous.word_df, previous.word_weight))
    rows.name_df, rows.name_weight, names_changed = weigh_columns(
        rows.names, old, previous and (previous.names, previous.name_df, previous.name_weight))
    redone = old < 0
    if previous is not None:
        redone |= touch_columns(rows.words, words_changed)
        redone |= touch_columns(rows.names, names_changed)
    else:
        redone[:] = True
    fresh = np.flatnonzero(redone)
    made = make_vectors(rows.words[fresh], rows.names[fresh], rows.word_weight,
                        rows.name_weight)
    if previous is not None:
        source = redone.astype(np.int64)
        row = np.where(redone, np.cumsum(redone) - 1, old)
        vectors = gather_rows([previous.vectors, made], source, row)
    else:
        vectors = made
    rows.vectors = vectors
    if memo is not None:
        memo.latest = rows
    return Features(vectors, rows.bands, rows.years, rows.weekdays, old, redone)


def count_features(articles: Sequence[Article], window_days: float,
                   memo: FeatureMemo | None) -> tuple[ArticleRows, np.ndarray]:
    """Return every article's feature counts, reusing the memo's rows where they still hold,
    and per article its previous row (-1 when counted afresh)."""
    previous = memo.previous if memo is not None else None
    keys = [memo.key_of(a) for a in articles] if memo is not None else [""] * len(articles)
    at = {k: i for i, k in enumerate(previous.keys)} if previous is not None else {}
    old = np.array([at.get(k, -1) for k in keys], dtype=np.int64)
    lines = [previous.lines[previous.line_ptr[o]:previous.line_ptr[o + 1]] if o >= 0 else
             np.unique(np.array(hash_lines(a.source, a.text), dtype=np.int64))
             for a, o in zip(articles, old.tolist(), strict=True)]
    lengths = np.fromiter((len(x) for x in lines), dtype=np.int64, count=len(lines))
    line_ptr = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.concatenate(lines)
    furniture = find_furniture_lines(flat, line_ptr)
    dropped = np.isin(flat, np.array(sorted(furniture), dtype=np.int64))
    if previous is not None and (old >= 0).any():  # furniture changed for a reused row?
        owner = np.repeat(np.arange(len(lines)), lengths)
        reused = old[owner] >= 0
        was = np.zeros(len(flat), dtype=bool)
        was[reused] = previous.dropped[previous.line_ptr[old[owner[reused]]]
                                       + np.arange(len(flat))[reused] - line_ptr[owner[reused]]]
        old[np.unique(owner[was != dropped])] = -1
    fresh = old < 0
    words, names, bands, years, weekdays = count_in_parallel(
        [articles[i] for i in np.flatnonzero(fresh)], furniture, window_days)
    if previous is not None and not fresh.all():
        source, row = fresh.astype(np.int64), np.where(fresh, np.cumsum(fresh) - 1, old)
        words = gather_rows([previous.words, words], source, row)
        names = gather_rows([previous.names, names], source, row)
        bands = gather_rows([previous.bands, bands], source, row)
        years = gather_rows([previous.years, years], source, row)
        weekdays = gather_rows([previous.weekdays, weekdays], source, row)
    rows = ArticleRows(keys=keys, lines=flat, line_ptr=line_ptr, dropped=dropped, words=words,
                       names=names, bands=bands, years=years, weekdays=weekdays)
    return rows, old


def gather_rows(parts: Sequence[csr_matrix | np.ndarray], source: np.ndarray,
                row: np.ndarray) -> csr_matrix | np.ndarray:
    """Return, for each i, row row[i] of parts[source[i]] (sparse or dense), copying runs of
    consecutive rows at once (an edit leaves long runs)."""
    breaks = np.flatnonzero((np.diff(source) != 0) | (np.diff(row) != 1)) + 1
    starts = np.concatenate([[0], breaks]).tolist()
    ends = np.concatenate([breaks, [len(row)]]).tolist()
    if len(starts) > MAX_PIECES:
        offsets = np.cumsum([0] + [part.shape[0] for part in parts[:-1]])
        if isinstance(parts[0], np.ndarray):
            return np.concatenate(parts)[offsets[source] + row]
        return vstack(parts, format="csr")[offsets[source] + row]
    runs = [(parts[int(source[s])], int(row[s]), int(row[s]) + e - s)
            for s, e in zip(starts, ends, strict=True)]
    if isinstance(parts[0], np.ndarray):
        return np.concatenate([part[first:last] for part, first, last in runs])
    indptr = [np.zeros(1, dtype=np.int64)]
    for part, first, last in runs:
        indptr.append(part.indptr[first + 1:last + 1] - part.indptr[first] + indptr[-1][-1])
    spans = [(part, part.indptr[first], part.indptr[last]) for part, first, last in runs]
    return csr_matrix((np.concatenate([part.data[a:b] for part, a, b in spans]),
                       np.concatenate([part.indices[a:b] for part, a, b in spans]),
                       np.concatenate(indptr)), shape=(len(row), parts[0].shape[1]))


def weigh_columns(counts: csr_matrix, old: np.ndarray,
                  previous: tuple[csr_matrix, np.ndarray, np.ndarray] | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the columns' document counts and weights (similarity.weigh_idf) and the
    columns whose weight changed since the previous run (its counts, document counts and
    weights), updating the previous counts by the rows that came and went."""
    n = counts.shape[0]
    if previous is None:
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int32)
        weight = weigh_idf(df, n)
        return df, weight, np.ones(len(df), dtype=bool)
    before, df_before, weight_before = previous
    gone = np.ones(before.shape[0], dtype=bool)
    gone[old[old >= 0]] = False
    # Only the columns of the rows that came and went change count (no corpus-wide pass).
    came, went = counts[np.flatnonzero(old < 0)].indices, before[np.flatnonzero(gone)].indices
    touched, at = np.unique(np.concatenate([came, went]), return_inverse=True)
    delta = np.bincount(at, weights=np.repeat([1.0, -1.0], [len(came), len(went)]),
                        minlength=len(touched)).astype(np.int32)
    df = np.array(df_before, dtype=np.int32)
    df[touched] += delta
    if count_levels(np.array([n]))[0] != count_levels(np.array([before.shape[0]]))[0]:
        weight = weigh_idf(df, n)
        return df, weight, weight != weight_before
    columns = touched[delta != 0]
    weight = weight_before.copy()
    weight[columns] = weigh_idf(df[columns], n)
    changed = np.zeros(len(df), dtype=bool)
    changed[columns[weight[columns] != weight_before[columns]]] = True
    return df, weight, changed


def touch_columns(matrix: csr_matrix, columns: np.ndarray) -> np.ndarray:
    """Tell per row whether it has a nonzero in any column flagged in `columns` (a mask)."""
    touched = np.zeros(matrix.shape[0], dtype=bool)
    if columns.any():
        hits = np.flatnonzero(columns[matrix.indices])
        touched[np.searchsorted(matrix.indptr, hits, side="right") - 1] = True
    return touched


def find_candidates(features: Features, memo: FeatureMemo | None) -> np.ndarray:
    """Return the candidate pairs (i < j, sorted, distinct): articles sharing top features or
    a MinHash band (similarity.find_term_pairs, find_reuse_pairs).

    With the previous run's candidates, only the articles whose pairs may differ are paired
    again: those whose vector changed, those holding a top feature whose index posting
    crossed `MAX_POSTING`, and those sharing a band bucket with a new or removed article.
    """
    n = len(features.old)
    previous = memo.previous if memo is not None else None
    redone = np.flatnonzero(features.redone)
    fresh = make_term_index(features.vectors[redone])
    if previous is None:
        index = fresh
        pairs = np.vstack([find_term_pairs(features.vectors, index),
                           find_reuse_pairs(features.bands)])
    else:
        source = features.redone.astype(np.int64)
        index = gather_rows([previous.top, fresh], source,
                            np.where(features.redone, np.cumsum(features.redone) - 1,
                                     features.old))
        again = features.redone.copy()
        kept_rows = np.zeros(len(previous.keys), dtype=bool)
        kept_rows[features.old[~features.redone]] = True
        again |= touch_columns(index, crossed_postings(fresh, previous.top, ~kept_rows))
        gone = np.ones(len(previous.keys), dtype=bool)
        gone[features.old[features.old >= 0]] = False
        moved = np.concatenate([features.bands[features.old < 0].ravel(),
                                previous.bands[gone].ravel()])
        again |= np.isin(features.bands, moved[moved != 0]).any(axis=1)
        rows = np.flatnonzero(again)
        new_of = np.full(len(previous.keys), -1, dtype=np.int64)
        new_of[features.old[features.old >= 0]] = np.flatnonzero(features.old >= 0)
        kept = decode(previous.candidates, len(previous.keys))
        kept = new_of[kept]
        kept = kept[(kept >= 0).all(axis=1)]
        kept = kept[~(again[kept[:, 0]] | again[kept[:, 1]])]  # still in order: i < j, sorted
        pairs = np.vstack([find_term_pairs(None, index, rows),
                           find_reuse_pairs(features.bands, rows)])
        codes = merge_codes(kept[:, 0] * n + kept[:, 1], pairs[:, 0] * n + pairs[:, 1])
    if previous is None:
        codes = np.unique(pairs[:, 0] * n + pairs[:, 1])
    if memo is not None and memo.latest is not None:
        memo.latest.top, memo.latest.candidates = index, codes
    return decode(codes, n)


def crossed_postings(added: csr_matrix, before: csr_matrix, removed: np.ndarray) -> np.ndarray:
    """Tell per feature whether its index posting count crossed `MAX_POSTING` (either way)
    when the index `before` loses its `removed` rows (a mask) and gains the `added` rows."""
    came, went = added.indices, before[np.flatnonzero(removed)].indices
    columns, at = np.unique(np.concatenate([came, went]), return_inverse=True)
    delta = np.bincount(at, weights=np.repeat([1.0, -1.0], [len(came), len(went)]),
                        minlength=len(columns)).astype(np.int64)
    columns, delta = columns[delta != 0], delta[delta != 0]
    hits = before.indices[np.isin(before.indices, columns)]
    was = np.bincount(np.searchsorted(columns, hits), minlength=len(columns))
    crossed = np.zeros(before.shape[1], dtype=bool)
    crossed[columns[(was > MAX_POSTING) != (was + delta > MAX_POSTING)]] = True
    return crossed


def merge_codes(known: np.ndarray, more: np.ndarray) -> np.ndarray:
    """Return the sorted distinct union of sorted distinct codes and any others."""
    more = np.unique(more)
    more = more[~look_up(known, known, more)[0]]
    return np.sort(np.concatenate([known, more]), kind="stable")  # two sorted runs: a merge


def merge_scores(codes: np.ndarray, sims: np.ndarray, more: np.ndarray, more_sims: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct union of two sorted distinct code arrays with their values
    (a code in both keeps the first array's value)."""
    new = ~look_up(codes, codes, more)[0]
    both = np.concatenate([codes, more[new]])
    order = np.argsort(both, kind="stable")
    return both[order], np.concatenate([sims, more_sims[new]])[order]


def decode(codes: np.ndarray, n: int) -> np.ndarray:
    """Return (i, j) rows from codes i * n + j."""
    return np.stack([codes // n, codes % n], axis=1)


def score_remembered(features: Features, pairs: np.ndarray,
                     previous: ArticleRows | None) -> np.ndarray:
    """Return score_pairs of the pairs (i < j), taking a pair of two unchanged articles'
    score from the previous run when it scored that pair."""
    sims = np.zeros(len(pairs), dtype=np.float32)
    todo = np.ones(len(pairs), dtype=bool)
    if previous is not None and len(pairs):
        left, right = pairs[:, 0], pairs[:, 1]
        known = np.flatnonzero(~(features.redone[left] | features.redone[right]))
        a, b = features.old[left[known]], features.old[right[known]]
        found, values = look_up(previous.scored, previous.sims,
                                np.minimum(a, b) * len(previous.keys) + np.maximum(a, b))
        sims[known[found]] = values
        todo[known[found]] = False
    sims[todo] = score_pairs(features.vectors, pairs[todo], features.years, features.weekdays)
    return sims


def look_up(codes: np.ndarray, values: np.ndarray, wanted: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Return which wanted codes a sorted code array holds, and their values."""
    if len(codes) == 0:
        return np.zeros(len(wanted), dtype=bool), values[:0]
    at = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
    found = codes[at] == wanted
    return found, values[at[found]]


def sign_components(component: np.ndarray, pairs: np.ndarray, sims: np.ndarray,
                    ids: np.ndarray, n_ids: int) -> np.ndarray:
    """Return per component a 64-bit signature of its members (`ids`: a stable number per
    article, below n_ids) and of its pairs with their scores."""
    total = np.zeros(int(component.max()) + 1 if len(component) else 0, dtype=np.uint64)
    np.add.at(total, component, mix(ids.astype(np.uint64), 7))
    left, right = ids[pairs[:, 0]], ids[pairs[:, 1]]
    code = (np.minimum(left, right) * n_ids + np.maximum(left, right)).astype(np.uint64)
    links = mix(mix(code, 8) ^ sims.astype(np.float32).view(np.uint32).astype(np.uint64), 9)
    np.add.at(total, component[pairs[:, 0]], links)
    return total


def reuse_groups(component: np.ndarray, pairs: np.ndarray, sims: np.ndarray,
                 features: Features, previous: ArticleRows | None) -> np.ndarray:
    """Return per article its previous group label where its whole component equals one of
    the previous run (the same articles, pairs and scores, so linking it again would give
    the same groups), else -1."""
    old = features.old
    if previous is None or len(component) == 0:
        return np.full(len(component), -1, dtype=np.int64)
    count = int(component.max()) + 1
    was = np.where(old >= 0, previous.component[np.maximum(old, 0)], -1)
    _, first = np.unique(component, return_index=True)  # components are numbered 0..count-1
    first_was = was[first]  # the previous component of each component's first article
    same = first_was >= 0
    same[component[was != first_was[component]]] = False
    sizes = np.bincount(previous.component)
    same &= np.bincount(component, minlength=count) == sizes[np.maximum(first_was, 0)]
    mapped = sign_components(component, pairs, sims, np.maximum(old, 0), len(previous.keys))
    same &= mapped == previous.signature[np.maximum(first_was, 0)]
    return np.where(same[component], previous.group[np.maximum(old, 0)], -1)

"""Article features and candidate pairs for story detection (pure, order-independent).

Each article (title + text) becomes one sparse float32 row: half word unigrams and bigrams,
half "names and numbers" (capitalised phrases, figures), both TF-IDF weighted with the IDF
applied twice so that rare, event-specific words dominate, then cut to its `SCORE_TERMS`
heaviest features. Features are hashed with a fixed function (crc32 per token, integer mixing
for bigrams), so no vocabulary and no dependence on input order. Candidate pairs come from an
inverted index over each article's top features (same event, little shared wording) and from
MinHash LSH over word shingles (text reuse), both with vectorised numpy/scipy code and
bounded memory.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy.sparse import csr_matrix, hstack, triu, vstack
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.preprocessing import normalize

from site_src import executor
from site_src.model import Article

TOP_TERMS = 24  # features per article in the candidate index
MIN_SHARED = 2  # top features two articles must share to become a candidate pair
SCORE_TERMS = 200  # features per article kept for scoring pairs
MAX_POSTING = 400  # index entries (features, LSH buckets) longer than this are not evidence
SHINGLE = 5  # words per shingle for reuse detection
BANDS, ROWS = 28, 2  # MinHash LSH: 28 bands of 2 hashes (about Jaccard 0.2 and up)
FURNITURE_REPEATS = 5  # a line an outlet repeats in this many articles is page furniture
YEAR_PENALTY = 0.6  # similarity factor when both texts mention years but none in common

HASH_BITS = 22  # columns per feature family (words, names)
_MASK = np.uint64((1 << HASH_BITS) - 1)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NAME = re.compile(
    r"\b[A-Z][\w'’\-]*(?:[ \t]+(?:of[ \t]+|de[ \t]+)?[A-Z][\w'’\-]*)*|\b\d[\d,.]*\d\b|\b\d\b"
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_STOP = frozenset(ENGLISH_STOP_WORDS)
_CHUNK = 20_000  # pairs handled per vectorised step (bounds temporary memory)
_BATCH = 2_000  # articles turned into count rows at a time (bounds temporary memory)
FEATURE_CHUNK = 1_000  # articles per task when features are counted in parallel


@dataclass
class ArticleRows:
    """Per-article clustering features of one run, row i for keys[i]: unique line hashes (flat,
    with offsets), which of them were furniture when the features were made, word and name
    count rows, MinHash band keys and year rows. A later run reuses a row whose article key
    and furniture lines are unchanged, so the features equal freshly made ones."""

    keys: list[str]
    lines: np.ndarray
    line_ptr: np.ndarray
    dropped: np.ndarray
    words: csr_matrix
    names: csr_matrix
    bands: np.ndarray
    years: csr_matrix


@dataclass
class FeatureMemo:
    """Reuses the previous run's per-article features (`previous`), keyed by key_of(article)
    (a digest of everything the article carries); `latest` holds this run's, to keep."""

    key_of: Callable[[Article], str]
    previous: ArticleRows | None = None
    latest: ArticleRows | None = field(default=None, repr=False)


def build_features(
    articles: Sequence[Article], window_days: float = 0.0, memo: FeatureMemo | None = None
) -> tuple[csr_matrix, np.ndarray, csr_matrix]:
    """Return unit rows (float32, top features only), MinHash band keys and years.

    An article's years are those its text mentions plus, when it is dated, the years of the
    days within `window_days` of its publication. With a memo, unchanged articles' counts
    come from the previous run (same results).
    """
    if not articles:
        empty = csr_matrix((0, 2 << HASH_BITS), dtype=np.float32)
        return empty, np.zeros((0, BANDS), np.uint64), list_years([])
    rows = count_features(articles, window_days, memo)
    if memo is not None:
        memo.latest = rows
    word_weight, name_weight = weigh_idf([rows.words]), weigh_idf([rows.names])
    parts = []
    for start in range(0, len(articles), _BATCH):  # one batch at a time (bounded memory)
        both = hstack([weigh_tfidf(rows.words[start:start + _BATCH], word_weight),
                       weigh_tfidf(rows.names[start:start + _BATCH], name_weight)], format="csr")
        parts.append(keep_top_features(normalize(both), SCORE_TERMS))
    return vstack(parts, format="csr"), rows.bands, rows.years


def count_features(articles: Sequence[Article], window_days: float,
                   memo: FeatureMemo | None) -> ArticleRows:
    """Return every article's feature counts, reusing the memo's rows where they still hold."""
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
    fresh = np.flatnonzero(old < 0)
    made = count_in_parallel([articles[i] for i in fresh], furniture, window_days)
    order = np.argsort(np.concatenate([np.flatnonzero(old >= 0), fresh]), kind="stable")
    kept = old[old >= 0]

    def merge(before: csr_matrix | np.ndarray | None, now: csr_matrix | np.ndarray):
        """Return the reused rows and the new ones, in article order."""
        if before is None or not len(kept):
            return now
        stack = vstack if isinstance(now, csr_matrix) else np.vstack
        both = stack([before[kept], now])
        return both[order].tocsr() if isinstance(both, csr_matrix) else both[order]

    words, names, bands, years = made
    return ArticleRows(
        keys=keys, lines=flat, line_ptr=line_ptr, dropped=dropped,
        words=merge(previous and previous.words, words),
        names=merge(previous and previous.names, names),
        bands=merge(previous and previous.bands, bands),
        years=merge(previous and previous.years, years),
    )


def count_in_parallel(articles: Sequence[Article], furniture: frozenset[int],
                      window_days: float) -> tuple[csr_matrix, csr_matrix, np.ndarray, csr_matrix]:
    """Return make_counts of articles, made by chunks on the build's executor when it pays
    (rows do not depend on each other, so the result is the same)."""
    if len(articles) < 2 * FEATURE_CHUNK:
        return make_counts(articles, furniture, window_days)
    chunks = [articles[at:at + FEATURE_CHUNK] for at in range(0, len(articles), FEATURE_CHUNK)]
    parts = executor.map_ordered(_count_chunk, chunks, shared=(furniture, window_days))
    words, names, bands, years = zip(*parts, strict=True)
    return (vstack(words, format="csr"), vstack(names, format="csr"), np.vstack(bands),
            vstack(years, format="csr"))


def _count_chunk(shared: tuple[frozenset[int], float], articles: Sequence[Article]
                 ) -> tuple[csr_matrix, csr_matrix, np.ndarray, csr_matrix]:
    """Return make_counts of one chunk (a task of count_in_parallel)."""
    return make_counts(articles, *shared)


def make_counts(articles: Sequence[Article], furniture: frozenset[int],
                window_days: float) -> tuple[csr_matrix, csr_matrix, np.ndarray, csr_matrix]:
    """Return word and name count rows, MinHash band keys and year rows of articles."""
    cache: dict[str, int] = {}
    word_rows, name_rows, keys, year_rows = [], [], [], []
    minhash = make_minhash()
    for article in articles:
        text = drop_lines(article, furniture)
        codes = encode_tokens(_WORD.findall(text.lower()), cache)
        keys.append(band_keys(hash_shingles(codes >> np.uint64(1)), minhash))
        word_rows.append(word_features(codes))
        found = _NAME.findall(text)
        name_rows.append(name_features(found, cache))
        year_rows.append(list_article_years(found, article.published, window_days))
    bands = np.vstack(keys) if keys else np.zeros((0, BANDS), np.uint64)
    return count_rows(word_rows), count_rows(name_rows), bands, list_years(year_rows)


def hash_lines(source: str, text: str) -> list[int]:
    """Return a stable hash of every non-blank line of a text, salted with its outlet."""
    salt = zlib.crc32(source.encode("utf-8"))
    return [zlib.crc32(line.strip().lower().encode("utf-8"), salt) if line.strip() else -1
            for line in text.splitlines()]


def find_furniture_lines(lines: np.ndarray, line_ptr: np.ndarray) -> frozenset[int]:
    """Return the lines an outlet repeats in `FURNITURE_REPEATS`+ articles (sign-up boxes,
    country pickers, standing notes), as hashes from `hash_lines`, given every article's
    unique line hashes (flat, article i's at line_ptr[i]:line_ptr[i + 1])."""
    if len(line_ptr) < 2:
        return frozenset()
    found, counts = np.unique(lines, return_counts=True)
    return frozenset(int(x) for x in found[(counts >= FURNITURE_REPEATS) & (found >= 0)])


def drop_lines(article: Article, furniture: frozenset[int]) -> str:
    """Return title and text without the outlet's furniture lines."""
    text = article.text
    if furniture:
        lines = text.splitlines()
        hashes = hash_lines(article.source, text)
        text = "\n".join(line for line, h in zip(lines, hashes, strict=True)
                          if h not in furniture)
    return f"{article.title}\n{text}"


def encode_tokens(tokens: Sequence[str], cache: dict[str, int]) -> np.ndarray:
    """Return per token its crc32 shifted left one bit, the low bit set for content words."""
    codes = list(map(cache.get, tokens))
    if None in codes:
        for token in set(tokens).difference(cache):
            content = token not in _STOP and len(token) > 1
            cache[token] = (zlib.crc32(token.encode("utf-8")) << 1) | int(content)
        codes = list(map(cache.__getitem__, tokens))
    return np.array(codes, dtype=np.uint64)


def mix(values: np.ndarray, salt: int) -> np.ndarray:
    """Return well-spread 64-bit hashes of integer codes (a fixed multiply-xorshift)."""
    x = (values + np.uint64(salt)) * _MIX
    return x ^ (x >> np.uint64(31))


def word_features(codes: np.ndarray) -> np.ndarray:
    """Return hashed columns of the content words of a text and their adjacent pairs."""
    content = codes[(codes & np.uint64(1)) == 1] >> np.uint64(1)
    pairs = mix(content[:-1], 1) ^ content[1:] if len(content) > 1 else content[:0]
    return np.concatenate([mix(content, 2), mix(pairs, 3)]) & _MASK


def name_features(names: Sequence[str], cache: dict[str, int]) -> np.ndarray:
    """Return hashed columns of capitalised phrases (whole and by word) and figures."""
    found = "\n".join(names).lower()
    words = encode_tokens(found.split(), cache)
    phrases = ["_".join(m.split()) for m in found.split("\n") if " " in m or "\t" in m]
    codes = np.concatenate([words[(words & np.uint64(1)) == 1], encode_tokens(phrases, cache)])
    return mix(codes >> np.uint64(1), 4) & _MASK


def count_rows(rows: list[np.ndarray]) -> csr_matrix:
    """Return a sparse count matrix from per-row arrays of column numbers."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cols = (np.concatenate(rows) if rows else np.zeros(0)).astype(np.int32)
    data = np.ones(len(cols), dtype=np.float32)
    matrix = csr_matrix((data, cols, indptr), shape=(len(rows), 1 << HASH_BITS))
    matrix.sum_duplicates()
    return matrix


def weigh_idf(batches: Sequence[csr_matrix]) -> np.ndarray:
    """Return the squared smooth IDF per column; 0 for features seen in one article only."""
    n = sum(batch.shape[0] for batch in batches)
    df = np.zeros(batches[0].shape[1], dtype=np.int64)
    for batch in batches:
        df += np.bincount(batch.indices, minlength=batch.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    return np.where(df >= 2, idf * idf, 0.0).astype(np.float32)


def weigh_tfidf(counts: csr_matrix, weight: np.ndarray) -> csr_matrix:
    """Return unit rows of sublinear TF times the column weights (counts reused in place)."""
    counts.data = (1.0 + np.log(counts.data)) * weight[counts.indices]
    counts.eliminate_zeros()
    return normalize(counts, copy=False)


def keep_top_features(vectors: csr_matrix, limit: int) -> csr_matrix:
    """Return the rows cut to their `limit` heaviest features (ties by column), renormalised."""
    keep = np.ones(len(vectors.data), dtype=bool)
    for i in np.flatnonzero(np.diff(vectors.indptr) > limit):
        start, end = vectors.indptr[i], vectors.indptr[i + 1]
        order = np.lexsort((vectors.indices[start:end], -vectors.data[start:end]))
        keep[start + order[limit:]] = False
    indptr = np.concatenate([[0], np.cumsum(keep)])[vectors.indptr]
    cut = csr_matrix((vectors.data[keep], vectors.indices[keep], indptr), shape=vectors.shape)
    return normalize(cut)


def day_number(when: datetime | None) -> float:
    """Return days since the epoch (UTC) or NaN when undated."""
    return math.nan if when is None else when.timestamp() / 86400.0


def within_window(days: np.ndarray, pairs: np.ndarray, window: float) -> np.ndarray:
    """Tell for each pair whether it may join: undated on either side, or close enough."""
    gap = np.abs(days[pairs[:, 0]] - days[pairs[:, 1]])
    return np.isnan(gap) | (gap <= window)


def find_term_pairs(vectors: csr_matrix) -> np.ndarray:
    """Return pairs (i < j) sharing `MIN_SHARED` top features, via a chunked index product."""
    index = keep_top_features(vectors, TOP_TERMS)
    index.data[:] = 1.0
    postings = np.bincount(index.indices, minlength=index.shape[1])
    index.data[postings[index.indices] > MAX_POSTING] = 0.0
    index.eliminate_zeros()
    transposed = index.T.tocsr()
    found = []
    for start in range(0, index.shape[0], 1000):
        block = triu(index[start : start + 1000] @ transposed, k=start + 1).tocoo()
        strong = block.data >= MIN_SHARED
        found.append(np.stack([block.row[strong] + start, block.col[strong]], axis=1))
    return np.vstack(found).astype(np.int64) if found else np.zeros((0, 2), np.int64)


def hash_shingles(codes: np.ndarray) -> np.ndarray:
    """Return the 32-bit hashes of the word shingles of a token-code array."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.uint64)
    width = min(SHINGLE, len(codes))
    mixed = np.zeros(len(codes) - width + 1, dtype=np.uint64)
    for offset in range(width):
        mixed = mixed * np.uint64(1000003) + codes[offset : offset + len(mixed)]
    return (mixed ^ (mixed >> np.uint64(29))) & np.uint64(0xFFFFFFFF)


def make_minhash() -> tuple[np.ndarray, np.ndarray]:
    """Return the fixed multipliers and offsets of the MinHash functions (seeded)."""
    rng = np.random.default_rng(1)
    perms = BANDS * ROWS
    a = rng.integers(1, 1 << 63, size=(perms, 1), dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 1 << 63, size=(perms, 1), dtype=np.uint64)
    return a, b


def band_keys(hashes: np.ndarray, minhash: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return one LSH bucket key per band of a shingle set's MinHash signature (0 if empty)."""
    if len(hashes) == 0:
        return np.zeros(BANDS, dtype=np.uint64)
    a, b = minhash
    signature = ((a * hashes[None, :] + b) >> np.uint64(32)).min(axis=1)
    bands = signature.reshape(BANDS, ROWS)
    key = mix(bands[:, 0], 5)
    for row in range(1, ROWS):
        key = mix(key ^ bands[:, row], 5)
    return mix(key ^ np.arange(BANDS, dtype=np.uint64), 6) | np.uint64(1)


def find_reuse_pairs(keys: np.ndarray) -> np.ndarray:
    """Return pairs (i < j) of articles whose shingle sets collide in a MinHash LSH band."""
    docs = np.repeat(np.arange(len(keys), dtype=np.int64), BANDS)
    flat = keys.ravel()
    used = flat != 0
    if not used.any():
        return np.zeros((0, 2), np.int64)
    return pair_buckets(flat[used], docs[used], len(keys))


def pair_buckets(keys: np.ndarray, docs: np.ndarray, n: int) -> np.ndarray:
    """Return the distinct pairs (i < j) of documents sharing a bucket key (small buckets)."""
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], bounds])
    sizes = np.diff(np.concatenate([starts, [len(keys)]]))
    found = []
    for start, size in zip(starts[sizes >= 2], sizes[sizes >= 2], strict=True):
        if size <= MAX_POSTING:
            left, right = np.triu_indices(size, k=1)
            found.append(docs[start + left] * n + docs[start + right])
    if not found:
        return np.zeros((0, 2), np.int64)
    codes = np.unique(np.concatenate(found))
    return np.stack([codes // n, codes % n], axis=1)


def list_article_years(
    names: Sequence[str], published: datetime | None, window_days: float
) -> list[int]:
    """Return the year offsets (from 1900) an article mentions or was published around."""
    years = {int(n) for n in names if _YEAR.fullmatch(n)}
    if published is not None:
        for shift in (-window_days, window_days):
            years.add((published + timedelta(days=shift)).year)
    return sorted(y - 1900 for y in years if 1900 <= y < 2100)


def list_years(rows: Sequence[Sequence[int]]) -> csr_matrix:
    """Return a binary article-by-year matrix (1900-2099) from each article's year offsets."""
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    cols = np.fromiter((y for r in rows for y in r), dtype=np.int32, count=int(indptr[-1]))
    data = np.ones(len(cols), dtype=np.float32)
    return csr_matrix((data, cols, indptr), shape=(len(rows), 200))


def score_pairs(vectors: csr_matrix, pairs: np.ndarray, years: csr_matrix) -> np.ndarray:
    """Return the cosine of each pair (chunked), discounted on disjoint mentioned years."""
    sims = np.zeros(len(pairs), dtype=np.float32)
    has = np.diff(years.indptr) > 0
    for start in range(0, len(pairs), _CHUNK):
        part = pairs[start : start + _CHUNK]
        left, right = part[:, 0], part[:, 1]
        sims[start : start + _CHUNK] = np.asarray(
            vectors[left].multiply(vectors[right]).sum(axis=1)
        ).ravel()
        shared = np.asarray(years[left].multiply(years[right]).sum(axis=1)).ravel()
        conflict = has[left] & has[right] & (shared == 0)
        sims[start : start + _CHUNK][conflict] *= YEAR_PENALTY
    return sims

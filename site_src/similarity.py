"""Article features and candidate pairs for story detection (pure, order-independent).

Each article (title + text) becomes one sparse float32 row: half word unigrams and bigrams,
half "names and numbers" (capitalised phrases, figures), both TF-IDF weighted with the IDF
applied twice so that rare, event-specific words dominate, then cut to its `SCORE_TERMS`
heaviest features. Features are hashed with a fixed function (crc32 per token, integer mixing
for bigrams), so no vocabulary and no dependence on input order. Candidate pairs come from an
inverted index over each article's top features (same event, little shared wording) and from
MinHash LSH over word shingles (text reuse), both with vectorised numpy/scipy code and
bounded memory. Per article it also keeps the years and weekdays its text names, the evidence
against pairing two articles about look-alike events (`score_pairs`).
"""

from __future__ import annotations

import importlib.util
import re
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack

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
WEEKDAY_PENALTY = 0.8  # factor when both name weekdays, none in common, one of them undated
DATED = 0x80  # flag of a dated article in its weekday mask (bits 0-6: Monday to Sunday)

HASH_BITS = 22  # columns per feature family (words, names)
_MASK = np.uint64((1 << HASH_BITS) - 1)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NAME = re.compile(
    r"\b[A-Z][\w'’\-]*(?:[ \t]+(?:of[ \t]+|de[ \t]+)?[A-Z][\w'’\-]*)*|\b\d[\d,.]*\d\b|\b\d\b"
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_WEEKDAY = re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b")
_DAY_BITS = {day: 1 << bit for bit, day in enumerate(
    ("mon", "tues", "wednes", "thurs", "fri", "satur", "sun"))}
_CHUNK = 20_000  # pairs handled per vectorised step (bounds temporary memory)
_BATCH = 2_000  # articles turned into count rows at a time (bounds temporary memory)
FEATURE_CHUNK = 1_000  # articles per task when features are counted in parallel
EXACT_COUNTS = 16  # document counts up to this are used as they are in the IDF
COUNT_STEP = 1 / 16  # larger ones are rounded to a geometric grid of this step
_LEVEL_VALUES = np.concatenate([np.arange(EXACT_COUNTS + 1.0),
                                EXACT_COUNTS * (1 + COUNT_STEP) ** np.arange(1.0, 400.0)])
_BOUNDS = np.ceil(np.sqrt(_LEVEL_VALUES[EXACT_COUNTS:-1] * _LEVEL_VALUES[EXACT_COUNTS + 1:]))


def load_stop_words() -> frozenset[str]:
    """Return scikit-learn's English stop words, read from its module file alone: importing
    scikit-learn itself takes seconds, a large share of an incremental build."""
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "feature_extraction" / "_stop_words.py"
        words = importlib.util.spec_from_file_location("_sklearn_stop_words", path)
        if words is not None and words.loader is not None and path.is_file():
            module = importlib.util.module_from_spec(words)
            words.loader.exec_module(module)
            return frozenset(module.ENGLISH_STOP_WORDS)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


_STOP = load_stop_words()


def normalize(matrix: csr_matrix, copy: bool = True) -> csr_matrix:
    """Return the rows scaled to unit length (empty rows stay empty); each row's sum of squares
    is reduced over that row alone, so a row's result never depends on the rows beside it."""
    counts = np.diff(matrix.indptr)
    filled = counts > 0
    sums = np.zeros(matrix.shape[0])
    if filled.any():
        sums[filled] = np.add.reduceat(matrix.data.astype(np.float64) ** 2,
                                       matrix.indptr[:-1][filled])
    norms = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    result = matrix.copy() if copy else matrix
    result.data = (matrix.data / np.repeat(norms, counts)).astype(matrix.dtype)
    return result


def make_vectors(words: csr_matrix, names: csr_matrix, word_weight: np.ndarray,
                 name_weight: np.ndarray) -> csr_matrix:
    """Return unit rows (float32, the `SCORE_TERMS` heaviest features) of word and name
    counts: each half TF-IDF weighted and normalised, then both together."""
    parts = [csr_matrix((0, 2 << HASH_BITS), dtype=np.float32)]
    for start in range(0, words.shape[0], _BATCH):  # one batch at a time (bounded memory)
        both = hstack([weigh_tfidf(words[start:start + _BATCH], word_weight),
                       weigh_tfidf(names[start:start + _BATCH], name_weight)], format="csr")
        parts.append(keep_top_features(normalize(both), SCORE_TERMS))
    return vstack(parts, format="csr")


Counts = tuple[csr_matrix, csr_matrix, np.ndarray, csr_matrix, np.ndarray]


def count_in_parallel(articles: Sequence[Article], furniture: frozenset[int],
                      window_days: float) -> Counts:
    """Return make_counts of articles, made by chunks on the build's executor when it pays
    (rows do not depend on each other, so the result is the same)."""
    if len(articles) < 2 * FEATURE_CHUNK:
        return make_counts(articles, furniture, window_days)
    chunks = [articles[at:at + FEATURE_CHUNK] for at in range(0, len(articles), FEATURE_CHUNK)]
    parts = executor.map_ordered(_count_chunk, chunks, shared=(furniture, window_days))
    words, names, bands, years, weekdays = zip(*parts, strict=True)
    return (vstack(words, format="csr"), vstack(names, format="csr"), np.vstack(bands),
            vstack(years, format="csr"), np.concatenate(weekdays))


def _count_chunk(shared: tuple[frozenset[int], float], articles: Sequence[Article]) -> Counts:
    """Return make_counts of one chunk (a task of count_in_parallel)."""
    return make_counts(articles, *shared)


def make_counts(articles: Sequence[Article], furniture: frozenset[int],
                window_days: float) -> Counts:
    """Return word and name count rows, MinHash band keys, year rows and weekday masks
    (`list_weekdays`) of articles."""
    cache: dict[str, int] = {}
    word_rows, name_rows, keys, year_rows, weekdays = [], [], [], [], []
    minhash = make_minhash()
    for article in articles:
        text = drop_lines(article, furniture)
        codes = encode_tokens(_WORD.findall(text.lower()), cache)
        keys.append(band_keys(hash_shingles(codes >> np.uint64(1)), minhash))
        word_rows.append(word_features(codes))
        found = _NAME.findall(text)
        name_rows.append(name_features(found, cache))
        year_rows.append(list_article_years(found, article.published, window_days))
        weekdays.append(list_weekdays(found, article.published))
    bands = np.vstack(keys) if keys else np.zeros((0, BANDS), np.uint64)
    return (count_rows(word_rows), count_rows(name_rows), bands, list_years(year_rows),
            np.array(weekdays, dtype=np.uint8))


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


def weigh_idf(df: np.ndarray, n: int) -> np.ndarray:
    """Return the squared smooth IDF of columns seen in `df` of `n` articles; 0 for features
    seen in one article only.

    Counts are quantised (`count_levels`) and the weights read from one table per corpus
    size level, so adding, removing or editing an article changes the weight of few columns
    and a column's weight never depends on which others are computed with it
    (site_src/cluster_memo.py relies on both).
    """
    size = _LEVEL_VALUES[count_levels(np.array([n]))[0]]
    idf = np.log((1.0 + size) / (1.0 + _LEVEL_VALUES)) + 1.0
    table = (idf * idf).astype(np.float32)
    return np.where(df >= 2, table[count_levels(df)], np.float32(0.0))


def count_levels(counts: np.ndarray) -> np.ndarray:
    """Return each count's level: the count itself up to `EXACT_COUNTS`, then the nearest
    step of a geometric grid of ratio 1 + `COUNT_STEP` (a relative error under 3.2%)."""
    above = EXACT_COUNTS + np.searchsorted(_BOUNDS, counts, side="right")
    return np.where(counts <= EXACT_COUNTS, counts, above)


def weigh_tfidf(counts: csr_matrix, weight: np.ndarray) -> csr_matrix:
    """Return unit rows of sublinear TF times the column weights (counts reused in place)."""
    counts.data = (1.0 + np.log(counts.data)) * weight[counts.indices]
    counts.eliminate_zeros()
    return normalize(counts, copy=False)


def keep_top_features(vectors: csr_matrix, limit: int) -> csr_matrix:
    """Return the rows (positive weights) cut to their `limit` heaviest features (ties by
    column), renormalised."""
    if vectors.shape[0] == 0:
        return vectors.copy()
    if not vectors.has_sorted_indices:
        vectors = vectors.sorted_indices()
    counts = np.diff(vectors.indptr)
    keep = np.ones(len(vectors.data), dtype=bool)
    long_rows = np.flatnonzero(counts > limit)
    if len(long_rows):
        row_of = np.repeat(np.arange(vectors.shape[0], dtype=np.uint64), counts)
        cut = np.flatnonzero(counts[row_of] > limit)
        # One stable sort by row, then weight descending (a positive float's bits sort like
        # it); equal weights keep their column order.
        bits = vectors.data[cut].astype(np.float32).view(np.uint32).astype(np.uint64)
        order = cut[np.argsort((row_of[cut] << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - bits),
                               kind="stable")]
        sizes = counts[long_rows]
        rank = np.arange(len(order)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        keep[order[rank >= limit]] = False
    indptr = np.concatenate([[0], np.cumsum(keep)])[vectors.indptr]
    cut = csr_matrix((vectors.data[keep], vectors.indices[keep], indptr), shape=vectors.shape)
    return normalize(cut)


def make_term_index(vectors: csr_matrix) -> csr_matrix:
    """Return each article's `TOP_TERMS` heaviest features as a 0/1 row (the candidate index)."""
    index = keep_top_features(vectors, TOP_TERMS)
    index.data[:] = 1.0
    return index


def find_term_pairs(vectors: csr_matrix | None, index: csr_matrix | None = None,
                    rows: np.ndarray | None = None) -> np.ndarray:
    """Return pairs (i < j) sharing `MIN_SHARED` features of the index (made from the vectors
    when not given), via a chunked index product; with `rows`, only the pairs holding one of
    those rows. Features in more than `MAX_POSTING` articles' indexes are not evidence."""
    index = make_term_index(vectors) if index is None else index
    if rows is not None:  # only the rows' own features can be shared with them
        index = keep_columns(index, np.unique(index[rows].indices))
    else:
        index = index.copy()
    postings = np.bincount(index.indices, minlength=index.shape[1])
    index.data[postings[index.indices] > MAX_POSTING] = 0.0
    index.eliminate_zeros()
    transposed = index.T.tocsr()
    targets = np.arange(index.shape[0]) if rows is None else rows
    found = [np.zeros((0, 2), np.int64)]
    for start in range(0, len(targets), 1000):
        chunk = targets[start:start + 1000]
        block = (index[chunk] @ transposed).tocoo()
        left, right = chunk[block.row].astype(np.int64), block.col.astype(np.int64)
        strong = (block.data >= MIN_SHARED) & (left < right if rows is None else left != right)
        found.append(np.stack([np.minimum(left, right), np.maximum(left, right)], axis=1)[strong])
    return np.vstack(found)


def keep_columns(matrix: csr_matrix, columns: np.ndarray) -> csr_matrix:
    """Return the matrix cut to the given columns (sorted, distinct), numbered 0, 1, ..."""
    hit = np.isin(matrix.indices, columns)
    indptr = np.concatenate([[0], np.cumsum(hit)])[matrix.indptr]
    return csr_matrix((matrix.data[hit], np.searchsorted(columns, matrix.indices[hit]), indptr),
                      shape=(matrix.shape[0], len(columns)))


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


def find_reuse_pairs(keys: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Return pairs (i < j) of articles whose shingle sets collide in a MinHash LSH band; with
    `rows`, only the pairs holding one of those rows."""
    docs = np.repeat(np.arange(len(keys), dtype=np.int64), BANDS)
    flat = keys.ravel()
    used = flat != 0
    if rows is not None:  # every entry of the buckets those rows are in
        used &= np.isin(flat, keys[rows].ravel())
    if not used.any():
        return np.zeros((0, 2), np.int64)
    pairs = pair_buckets(flat[used], docs[used], len(keys))
    if rows is not None:
        wanted = np.zeros(len(keys), dtype=bool)
        wanted[rows] = True
        pairs = pairs[wanted[pairs[:, 0]] | wanted[pairs[:, 1]]]
    return pairs


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


def list_weekdays(names: Sequence[str], published: datetime | None) -> int:
    """Return a mask of the weekdays among an article's capitalised words (bit 0 Monday ..
    bit 6 Sunday), with `DATED` set when the article has a publication date."""
    mask = DATED if published is not None else 0
    found = "\n".join(names).lower()
    for day in _WEEKDAY.findall(found) if "day" in found else ():
        mask |= _DAY_BITS[day]
    return mask


def list_years(rows: Sequence[Sequence[int]]) -> csr_matrix:
    """Return a binary article-by-year matrix (1900-2099) from each article's year offsets."""
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    cols = np.fromiter((y for r in rows for y in r), dtype=np.int32, count=int(indptr[-1]))
    data = np.ones(len(cols), dtype=np.float32)
    return csr_matrix((data, cols, indptr), shape=(len(rows), 200))


def score_pairs(vectors: csr_matrix, pairs: np.ndarray, years: csr_matrix,
                weekdays: np.ndarray) -> np.ndarray:
    """Return the cosine of each pair (chunked), discounted on disjoint years (both texts
    name or are dated around some) and on disjoint named weekdays when either article is
    undated (two dated articles in the time window need no such stand-in for a date)."""
    sims = np.zeros(len(pairs), dtype=np.float32)
    has = np.diff(years.indptr) > 0
    named = weekdays & np.uint8(DATED - 1)
    undated = (weekdays & np.uint8(DATED)) == 0
    for start in range(0, len(pairs), _CHUNK):
        part = pairs[start : start + _CHUNK]
        left, right = part[:, 0], part[:, 1]
        found = sims[start : start + _CHUNK]
        found[:] = np.asarray(vectors[left].multiply(vectors[right]).sum(axis=1)).ravel()
        shared = np.asarray(years[left].multiply(years[right]).sum(axis=1)).ravel()
        found[has[left] & has[right] & (shared == 0)] *= YEAR_PENALTY
        days_apart = ((named[left] & named[right]) == 0) & (named[left] != 0) \
            & (named[right] != 0) & (undated[left] | undated[right])
        found[days_apart] *= WEEKDAY_PENALTY
    return sims

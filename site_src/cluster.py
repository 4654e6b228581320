"""Story detection: group articles from any outlets that cover the same event.

How it works (a pure function of the corpus; input order and file names never matter):

1. Features. Each article (title + text) becomes one sparse vector: half word unigrams and
   bigrams, half "names and numbers" (capitalised phrases, figures), both TF-IDF weighted with
   the IDF applied twice so that rare, event-specific words dominate. A dot product of two
   vectors is the similarity used everywhere below.
2. Candidate pairs, in sub-quadratic time: MinHash/LSH on word 5-shingles (datasketch) finds
   articles that reuse each other's text; an inverted index over each article's top-weighted
   features finds same-event coverage with little shared wording. Pairs of dated articles
   more than `WINDOW_DAYS` apart are never candidates.
3. Evidence against: two articles whose texts mention years, none of them in common, are
   discounted by `YEAR_PENALTY` (a stand-in for missing dates); dated articles more than
   `WINDOW_DAYS` apart never join unless a front-matter `story:` key forces them together.
4. Grouping: average-linkage agglomerative clustering, run exactly per connected component
   of the candidate graph, cut at `THRESHOLD`. Average linkage compares whole groups, so a
   chain of look-alike events does not collapse into one story. Articles sharing a `story:`
   key always merge; stories with different keys never do.

Story ids: the `story:` key when one is present, else the id of the earliest member (by
`model.chronological_key`), so a later article joining never changes a story's URL.
Stories are returned newest first by their earliest member's publication; undated stories
come last; ties are ordered by story id.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from datasketch import MinHash, MinHashLSH
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix, diags, hstack
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.preprocessing import normalize

from site_src.model import Article, Story, chronological_key

THRESHOLD = 0.12  # average similarity at which two groups of articles merge
WINDOW_DAYS = 3  # dated articles further apart than this never join unless forced
YEAR_PENALTY = 0.6  # similarity factor when both texts mention years but none in common
TOP_TERMS = 24  # features per article in the candidate index
MIN_SHARED = 2  # top features two articles must share to become a candidate pair
SCORE_TERMS = 200  # features per article kept when screening candidate pairs
MAX_POSTING = 400  # features in more articles' top lists than this are too common to index
SHINGLE = 5  # words per shingle for reuse detection
NUM_PERM = 64  # MinHash permutations
LSH_THRESHOLD = 0.2  # estimated shingle Jaccard that makes two articles a reuse candidate

_FAR = 1e6  # distance that no average can bring under the threshold
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NAME = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w'’\-]*)*|\b\d[\d,.]*\d\b|\b\d\b")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_STOP = frozenset(ENGLISH_STOP_WORDS)
_HASH_FEATURES = 2**22


def find_stories(articles: Sequence[Article]) -> tuple[Story, ...]:
    """Group articles into stories (every article in exactly one), sorted newest first."""
    ordered = sorted(articles, key=lambda a: (chronological_key(a), a.id))
    if len(ordered) == 0:
        return ()
    labels = label_articles(ordered)
    groups: dict[int, list[Article]] = {}
    for article, label in zip(ordered, labels, strict=True):
        groups.setdefault(int(label), []).append(article)
    stories = [(make_story(members), members) for members in groups.values()]
    stories.sort(key=lambda pair: story_sort_key(pair[0], pair[1]))
    return tuple(story for story, _ in stories)


def label_articles(ordered: Sequence[Article]) -> np.ndarray:
    """Return a story label per article (articles already in canonical order)."""
    n = len(ordered)
    vectors, shingles = build_vectors(ordered)
    days = np.array([day_number(a.published) for a in ordered], dtype=float)
    years = mention_years(ordered)
    keys = [a.story_key or None for a in ordered]
    pairs = np.unique(
        np.vstack([find_term_pairs(vectors, days), find_reuse_pairs(shingles, days)]), axis=0
    )
    keep = pairs[:, 0] != pairs[:, 1] if len(pairs) else np.zeros(0, dtype=bool)
    pairs = pairs[keep]
    sims = score_pairs(vectors, pairs, years)
    strong = pairs[sims >= THRESHOLD]
    forced = forced_pairs(keys)
    edges = np.vstack([strong, forced]) if len(forced) else strong
    graph = csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    labels = np.full(n, -1, dtype=np.int64)
    next_label = 0
    for members in group_indices(component):
        if len(members) == 1:
            labels[members[0]] = next_label
            next_label += 1
            continue
        local = cluster_component(members, vectors, days, years, keys)
        labels[members] = local + next_label
        next_label += int(local.max()) + 1
    return labels


def build_vectors(articles: Sequence[Article]) -> tuple[csr_matrix, list[np.ndarray]]:
    """Return unit-length rows mixing word and name/number TF-IDF, and each text's shingles."""
    texts = [f"{a.title}\n{a.text}" for a in articles]
    shingles: list[np.ndarray] = []
    token_codes: dict[str, int] = {}

    def scan_words():
        """Yield the word features of each text; keep its shingle hashes on the side."""
        for text in texts:
            tokens = _WORD.findall(text.lower())
            shingles.append(hash_shingles(tokens, token_codes))
            yield extract_words(tokens)

    words = weigh_tfidf(hash_features(scan_words()))
    names = weigh_tfidf(hash_features(extract_names(text) for text in texts))
    both = hstack([words, names], format="csr") * (1.0 / math.sqrt(2.0))
    return normalize(both), shingles


def hash_features(features) -> csr_matrix:
    """Count features with a fixed hash (no vocabulary, so no dependence on input order)."""
    hasher = FeatureHasher(n_features=_HASH_FEATURES, input_type="string", alternate_sign=False)
    return hasher.transform(features).tocsr()


def weigh_tfidf(counts: csr_matrix) -> csr_matrix:
    """Apply sublinear TF and squared smooth IDF; drop features seen in one article only."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    weight = np.where(df >= 2, idf * idf, 0.0)  # a feature in one article only is no evidence
    matrix = counts.astype(np.float64)
    matrix.data = 1.0 + np.log(matrix.data)
    matrix = matrix @ diags(weight)
    matrix.eliminate_zeros()
    return normalize(matrix.tocsr())


def extract_words(words: Sequence[str]) -> list[str]:
    """Return the content words of a token list and their adjacent pairs."""
    tokens = [w for w in words if w not in _STOP and len(w) > 1]
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def extract_names(text: str) -> list[str]:
    """Return capitalised phrases (whole and by word) and figures, lowercased."""
    features: list[str] = []
    for line in text.splitlines():
        for match in _NAME.finditer(line):
            phrase = match.group().lower()
            parts = phrase.split()
            if len(parts) > 1:
                features.append("_".join(parts))
            features.extend(p for p in parts if p not in _STOP)
    return features


def day_number(when: datetime | None) -> float:
    """Return days since the epoch (UTC) or NaN when undated."""
    if when is None:
        return math.nan
    return when.timestamp() / 86400.0


def within_window(days: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Tell for each pair whether it may join: undated on either side, or close enough."""
    gap = np.abs(days[left] - days[right])
    return np.isnan(gap) | (gap <= WINDOW_DAYS)


def keep_top_features(vectors: csr_matrix, limit: int) -> csr_matrix:
    """Return the rows cut to their `limit` heaviest features, renormalised (for screening)."""
    rows, cols, vals = [], [], []
    for i in range(vectors.shape[0]):
        start, end = vectors.indptr[i], vectors.indptr[i + 1]
        data, idx = vectors.data[start:end], vectors.indices[start:end]
        if len(data) > limit:
            top = np.lexsort((idx, -data))[:limit]
            data, idx = data[top], idx[top]
        rows.append(np.full(len(idx), i, dtype=np.int64))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return vectors
    cut = csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=vectors.shape
    )
    return normalize(cut)


def find_term_pairs(vectors: csr_matrix, days: np.ndarray) -> np.ndarray:
    """Return candidate pairs that share a top-weighted feature (inverted index)."""
    n = vectors.shape[0]
    rows, cols = [], []
    for i in range(n):
        start, end = vectors.indptr[i], vectors.indptr[i + 1]
        data, idx = vectors.data[start:end], vectors.indices[start:end]
        if len(data) > TOP_TERMS:
            top = np.lexsort((idx, -data))[:TOP_TERMS]
            idx = idx[top]
        rows.append(np.full(len(idx), i, dtype=np.int64))
        cols.append(idx.astype(np.int64))
    if not rows:
        return np.zeros((0, 2), dtype=np.int64)
    doc, term = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((doc, term))
    doc, term = doc[order], term[order]
    bounds = np.flatnonzero(np.diff(term)) + 1
    chunks = []
    for posting in np.split(doc, bounds):
        if 2 <= len(posting) <= MAX_POSTING:
            left, right = np.triu_indices(len(posting), k=1)
            chunks.append(np.stack([posting[left], posting[right]], axis=1))
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64)
    flat = np.vstack(chunks)
    codes, counts = np.unique(flat[:, 0] * n + flat[:, 1], return_counts=True)
    codes = codes[counts >= MIN_SHARED]
    pairs = np.stack([codes // n, codes % n], axis=1)
    return pairs[within_window(days, pairs[:, 0], pairs[:, 1])]


def hash_shingles(tokens: Sequence[str], cache: dict[str, int]) -> np.ndarray:
    """Return 32-bit hashes of the word shingles of a token list (stable across runs)."""
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    for token in set(tokens).difference(cache):
        cache[token] = zlib.crc32(token.encode("utf-8"))
    codes = np.fromiter((cache[t] for t in tokens), dtype=np.uint64, count=len(tokens))
    width = min(SHINGLE, len(codes))
    mixed = np.zeros(len(codes) - width + 1, dtype=np.uint64)
    for offset in range(width):
        mixed = mixed * np.uint64(1000003) + codes[offset : offset + len(mixed)]
    return np.unique((mixed ^ (mixed >> np.uint64(29))) & np.uint64(0xFFFFFFFF))


def find_reuse_pairs(shingles: Sequence[np.ndarray], days: np.ndarray) -> np.ndarray:
    """Return candidate pairs whose shingles overlap (MinHash LSH), within the time window."""
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    template = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=int)
    sketches = []
    for index, hashes in enumerate(shingles):
        sketch = MinHash(num_perm=NUM_PERM, hashfunc=int, permutations=template.permutations,
                          scheme=template.scheme)
        if len(hashes):
            sketch.update_batch(hashes.tolist())
        sketches.append(sketch)
        lsh.insert(index, sketch)
    found = []
    for index, sketch in enumerate(sketches):
        if sketch.is_empty():
            continue
        found.extend((index, other) for other in sorted(lsh.query(sketch)) if other > index)
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.array(found, dtype=np.int64)
    return pairs[within_window(days, pairs[:, 0], pairs[:, 1])]


def mention_years(articles: Sequence[Article]) -> csr_matrix:
    """Return a binary article-by-year matrix of the years (1900-2099) each text mentions."""
    rows, cols = [], []
    for index, article in enumerate(articles):
        for year in sorted({int(y) for y in _YEAR.findall(article.text)}):
            rows.append(index)
            cols.append(year - 1900)
    data = np.ones(len(rows))
    return csr_matrix((data, (rows, cols)), shape=(len(articles), 200))


def years_conflict(years: csr_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Tell for each pair whether both texts mention years and share none."""
    has = np.diff(years.indptr) > 0
    shared = np.asarray(years[left].multiply(years[right]).sum(axis=1)).ravel()
    return has[left] & has[right] & (shared == 0)


def score_pairs(vectors: csr_matrix, pairs: np.ndarray, years: csr_matrix) -> np.ndarray:
    """Return the similarity of each candidate pair, discounted on disjoint mentioned years."""
    if len(pairs) == 0:
        return np.zeros(0)
    screen = keep_top_features(vectors, SCORE_TERMS)
    sims = np.empty(len(pairs))
    step = 20_000
    for start in range(0, len(pairs), step):
        part = pairs[start : start + step]
        product = screen[part[:, 0]].multiply(screen[part[:, 1]])
        sims[start : start + step] = np.asarray(product.sum(axis=1)).ravel()
    conflict = years_conflict(years, pairs[:, 0], pairs[:, 1])
    return np.where(conflict, sims * YEAR_PENALTY, sims)


def forced_pairs(keys: Sequence[str | None]) -> np.ndarray:
    """Return edges chaining together the articles that share a story key."""
    first: dict[str, int] = {}
    edges = []
    for index, key in enumerate(keys):
        if key is None:
            continue
        if key in first:
            edges.append((first[key], index))
        else:
            first[key] = index
    return np.array(edges, dtype=np.int64).reshape(-1, 2)


def group_indices(component: np.ndarray) -> list[np.ndarray]:
    """Return the member indices of each component, ordered by their first member."""
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    groups = np.split(order, bounds)
    return sorted(groups, key=lambda g: int(g[0]))


def cluster_component(
    members: np.ndarray,
    vectors: csr_matrix,
    days: np.ndarray,
    years: csr_matrix,
    keys: Sequence[str | None],
) -> np.ndarray:
    """Cluster one connected component exactly with average linkage; return local labels."""
    block = compact_columns(vectors[members])
    sims = (block @ block.T).toarray()
    local = years[members]
    has = np.diff(local.indptr) > 0
    shared = (local @ local.T).toarray() > 0
    sims[has[:, None] & has[None, :] & ~shared] *= YEAR_PENALTY
    dist = 1.0 - np.clip(sims, 0.0, 1.0)
    local_days = days[members]
    gap = np.abs(local_days[:, None] - local_days[None, :])
    dist[~np.isnan(gap) & (gap > WINDOW_DAYS)] = _FAR
    local_keys = np.array([keys[i] or "" for i in members], dtype=object)
    keyed = local_keys != ""
    same = keyed[:, None] & keyed[None, :] & (local_keys[:, None] == local_keys[None, :])
    differ = keyed[:, None] & keyed[None, :] & (local_keys[:, None] != local_keys[None, :])
    dist[differ] = _FAR
    dist[same] = 0.0
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    raw = fcluster(tree, t=1.0 - THRESHOLD, criterion="distance")
    return renumber(raw)


def compact_columns(block: csr_matrix) -> csr_matrix:
    """Return the same rows over only the columns they use (cheap to multiply and transpose)."""
    used, remapped = np.unique(block.indices, return_inverse=True)
    shape = (block.shape[0], len(used))
    return csr_matrix((block.data, remapped.ravel(), block.indptr), shape=shape)


def renumber(raw: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..k-1 in order of their first member (deterministic labels)."""
    mapping: dict[int, int] = {}
    return np.array([mapping.setdefault(int(x), len(mapping)) for x in raw], dtype=np.int64)


def make_story(members: Sequence[Article]) -> Story:
    """Build a Story from its members (any order): sorted members, id, title."""
    ordered = sorted(members, key=lambda a: (chronological_key(a), a.id))
    keys = sorted({a.story_key for a in ordered if a.story_key})
    story_id = keys[0] if keys else ordered[0].id
    return Story(id=story_id, title=ordered[0].title, member_ids=tuple(a.id for a in ordered))


def story_sort_key(story: Story, members: Sequence[Article]) -> tuple[bool, float, str]:
    """Order stories newest first by their earliest dated member; undated last; then by id."""
    dated = [a.published.timestamp() for a in members if a.published is not None]
    return (not dated, -min(dated) if dated else 0.0, story.id)

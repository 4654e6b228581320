"""Story clustering quality: B-cubed precision/recall/F1 on ECB+ beside a plain baseline.

Data: ECB+ corpus, topics 1-22 (Agata Cybulska and Piek Vossen, 2014, "Using a sledgehammer
to crack a nut? Lexical diversity and event coreference resolution", LREC; licensed CC BY 3.0),
read from ../shared/data/ecbplus-dev. Each topic holds two look-alike events (hard negatives).
Only the text and outlet are used as input; topic, subtopic and cluster_id are the gold answer.

Printed: find_stories at its fixed threshold; a split check (odd topics, where constants may
be chosen, against the held-out even topics, each half clustered on its own, the baseline's
threshold picked on the odd half); every impure predicted story (which gold stories it joins,
and the strongest links across them with their similarity, the rarest words both texts share
and the years and weekdays each mentions); a robustness table over a range of the main
threshold; the baseline (TF-IDF cosine + average-linkage clustering) at its best threshold;
the recall of the sub-quadratic candidate generation; sanity checks on the five seeds (one
story) and a spot check of merged AllSides stories.

Run: python bench/cluster_quality.py [--allsides N] [--links K]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpora  # noqa: E402
from site_src import cluster, cluster_memo, similarity  # noqa: E402
from site_src.model import Article, chronological_key  # noqa: E402

_TOKEN = re.compile(r"[A-Za-z][\w'-]+")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.IGNORECASE)


def score_bcubed(pred: Mapping[str, object], gold: Mapping[str, object]) -> tuple[float, ...]:
    """Return B-cubed precision, recall and F1 of a predicted clustering against gold."""
    pred_sets: dict[object, set[str]] = defaultdict(set)
    gold_sets: dict[object, set[str]] = defaultdict(set)
    for item, label in pred.items():
        pred_sets[label].add(item)
    for item, label in gold.items():
        gold_sets[label].add(item)
    precision = recall = 0.0
    for item in gold:
        mine, truth = pred_sets[pred[item]], gold_sets[gold[item]]
        both = len(mine & truth)
        precision += both / len(mine)
        recall += both / len(truth)
    precision /= len(gold)
    recall /= len(gold)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def run_stories(articles: Sequence[Article]) -> dict[str, str]:
    """Return the story id of every article according to find_stories."""
    return {m: s.id for s in cluster.find_stories(articles) for m in s.member_ids}


def run_baseline(articles: Sequence[Article], gold: Mapping[str, str],
                 fixed: float | None = None) -> tuple[float, tuple]:
    """Return the best threshold and scores of TF-IDF cosine + average linkage (or the
    scores at a `fixed` threshold)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(
        [a.text for a in articles]
    )
    dist = np.clip(1.0 - (matrix @ matrix.T).toarray(), 0.0, None)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    best: tuple[float, tuple] = (0.0, (0.0, 0.0, 0.0))
    for threshold in [fixed] if fixed is not None else np.arange(0.02, 0.62, 0.02):
        labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
        scores = score_bcubed({a.id: int(x) for a, x in zip(articles, labels, strict=True)}, gold)
        if fixed is not None or scores[2] > best[1][2]:
            best = (round(float(threshold), 2), scores)
    return best


def measure_candidate_recall(articles: Sequence[Article]) -> tuple[int, int]:
    """Count the pairs above the threshold (exhaustive) and how many candidates found."""
    ordered = sorted(articles, key=lambda a: a.id)
    features = cluster_memo.make_features(ordered, 0.0)
    vectors, band_keys = features.vectors, features.bands
    sims = (vectors @ vectors.T).toarray()
    left, right = np.triu_indices(len(ordered), k=1)
    strong = {(int(i), int(j)) for i, j in zip(left, right, strict=True)
              if sims[i, j] >= cluster.THRESHOLD}
    found = np.vstack([similarity.find_term_pairs(vectors),
                       similarity.find_reuse_pairs(band_keys)])
    found_set = {(int(min(i, j)), int(max(i, j))) for i, j in found}
    return len(strong), len(strong & found_set)


def print_row(name: str, scores: Sequence[float], extra: str = "") -> None:
    """Print one result line."""
    p, r, f = scores
    print(f"  {name:<34} P={p:.3f} R={r:.3f} F1={f:.3f} {extra}")


def print_band(label: str, values: Sequence[float]) -> None:
    """Print the thresholds of the robustness table that meet a goal."""
    shown = ", ".join(f"{v:.2f}" for v in values) if values else "none"
    print(f"  thresholds meeting {label}: {shown}")


def split_topics(articles: Sequence[Article]) -> tuple[list[Article], list[Article]]:
    """Return the articles of odd ECB+ topics (tuning half) and even topics (held out)."""
    odd = [a for a in articles if int(a.id.split("_")[0]) % 2 == 1]
    even = [a for a in articles if int(a.id.split("_")[0]) % 2 == 0]
    return odd, even


def print_split(articles: Sequence[Article], gold: Mapping[str, str]) -> None:
    """Print find_stories and the baseline on each half and the full set, each run alone."""
    odd, even = split_topics(articles)
    tuned, _ = run_baseline(odd, {a.id: gold[a.id] for a in odd})
    print(f"split (constants may be chosen on odd topics; even topics held out; baseline "
          f"threshold {tuned} picked on the odd half):")
    for name, part in (("odd topics (tuning)", odd), ("even topics (held out)", even),
                       ("all topics", articles)):
        part_gold = {a.id: gold[a.id] for a in part}
        print_row(f"{name}, {len(part)} docs", score_bcubed(run_stories(part), part_gold))
        print_row("  baseline at the odd-half threshold",
                  run_baseline(part, part_gold, fixed=tuned)[1])


def list_tokens(article: Article) -> set[str]:
    """Return the lowercased words (2+ letters) of an article's title and text."""
    return {t.lower() for t in _TOKEN.findall(f"{article.title}\n{article.text}")}


def describe_time(article: Article) -> str:
    """Return the years and weekdays an article mentions (the date evidence in its text)."""
    text = f"{article.title}\n{article.text}"
    years = sorted(set(_YEAR.findall(text)))
    days = sorted({d.lower()[:3] for d in _WEEKDAY.findall(text)})
    return f"years {','.join(years) or '-'} days {','.join(days) or '-'}"


def explain_impure(articles: Sequence[Article], gold: Mapping[str, str], links: int) -> None:
    """Print each predicted story that joins gold stories, with its strongest cross links."""
    ordered = sorted(articles, key=lambda a: (chronological_key(a), a.id))
    features = cluster_memo.make_features(ordered, cluster.WINDOW_DAYS)
    vectors, years, weekdays = features.vectors, features.years, features.weekdays
    tokens = [list_tokens(a) for a in ordered]
    df: dict[str, int] = defaultdict(int)
    for found in tokens:
        for token in found:
            df[token] += 1
    at = {a.id: i for i, a in enumerate(ordered)}
    impure = 0
    for story in cluster.find_stories(articles):
        parts: dict[str, list[int]] = defaultdict(list)
        for member in story.member_ids:
            parts[gold[member]].append(at[member])
        if len(parts) < 2:
            continue
        impure += 1
        sizes = ", ".join(f"{g} {len(m)}/{sum(1 for v in gold.values() if v == g)}"
                          for g, m in sorted(parts.items()))
        print(f"  story {story.id} ({len(story.member_ids)}) joins {sizes}")
        members = sorted(i for m in parts.values() for i in m)
        left, right = np.triu_indices(len(members), k=1)
        pairs = np.array([[members[i], members[j]] for i, j in zip(left, right, strict=True)
                          if gold[ordered[members[i]].id] != gold[ordered[members[j]].id]])
        sims = similarity.score_pairs(vectors, pairs, years, weekdays)
        for k in np.argsort(-sims, kind="stable")[:links]:
            i, j = (int(x) for x in pairs[k])
            shared = sorted(tokens[i] & tokens[j], key=lambda t: (df[t], t))[:8]
            print(f"    {sims[k]:.3f} {ordered[i].id} ({describe_time(ordered[i])}) ~ "
                  f"{ordered[j].id} ({describe_time(ordered[j])}) share: {' '.join(shared)}")
    print(f"  {impure} impure stories")


def check_seeds() -> None:
    """Print whether the five seeds form one story."""
    if not corpora.have_shared(corpora.SEEDS_DIR):
        print("seeds: skipped (../shared/seeds absent)")
        return
    stories = cluster.find_stories(corpora.load_seeds())
    verdict = "OK, one story" if len(stories) == 1 else "FAIL"
    print(f"seeds: {len(stories)} stories -> {verdict}: {[s.member_ids for s in stories]}")


def spot_check_allsides(limit: int, show: int = 12) -> None:
    """Print the largest merged AllSides stories (titles, outlets, dates) for eyeballing."""
    if not corpora.have_shared(corpora.ALLSIDES_FILE):
        print("allsides: skipped (../shared/bench/allsides absent)")
        return
    articles = corpora.load_allsides(limit)
    by_id = {a.id: a for a in articles}
    stories = cluster.find_stories(articles)
    multi = [s for s in stories if len(s.member_ids) > 1]
    sizes = np.array([len(s.member_ids) for s in multi] or [0])
    print(f"allsides first {len(articles)}: {len(stories)} stories, {len(multi)} with 2+ "
          f"members (largest {sizes.max()}, {int(sizes.sum())} articles in them)")
    picks = sorted(multi, key=lambda s: (-len(s.member_ids), s.id))[: show // 2]
    rng = np.random.default_rng(7)
    rest = [s for s in multi if s not in picks]
    if rest:
        chosen = rng.choice(len(rest), size=min(show - len(picks), len(rest)), replace=False)
        picks += [rest[i] for i in sorted(chosen)]
    for story in picks:
        print(f"  story {story.id} ({len(story.member_ids)})")
        for member in story.member_ids[:6]:
            a = by_id[member]
            day = a.published.date().isoformat() if a.published else "undated"
            print(f"    {day} {a.source[:22]:<22} {a.title[:80]}")


def main() -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allsides", type=int, default=3000,
                        help="AllSides articles for the spot check (0 to skip)")
    parser.add_argument("--links", type=int, default=3,
                        help="cross-gold links shown per impure story (0 hides the stories)")
    args = parser.parse_args()
    if not corpora.have_shared(corpora.ECBPLUS_FILE):
        print("skipped: ../shared/data/ecbplus-dev is absent")
        return 0
    articles, gold = corpora.load_ecbplus()
    print(f"ECB+ topics 1-22: {len(articles)} documents, {len(set(gold.values()))} gold stories")
    print_row(f"find_stories (threshold {cluster.THRESHOLD})", score_bcubed(run_stories(articles),
                                                                           gold))
    threshold, scores = run_baseline(articles, gold)
    print_row(f"baseline tfidf+avg-link (best {threshold})", scores)
    print_split(articles, gold)
    if args.links:
        print("impure stories (gold stories joined; strongest links across them):")
        explain_impure(articles, gold, args.links)
    print("robustness of find_stories over its threshold (goal: F1 >= 0.95, P >= 0.97):")
    default = cluster.THRESHOLD
    rows = []
    try:
        for value in (0.08, 0.09, 0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18):
            cluster.THRESHOLD = value
            rows.append((value, score_bcubed(run_stories(articles), gold)))
            print_row(f"threshold {value:.2f}", rows[-1][1])
    finally:
        cluster.THRESHOLD = default
    print_band("F1 >= 0.95", [v for v, (_, _, f) in rows if f >= 0.95])
    print_band("F1 >= 0.95 and P >= 0.97", [v for v, (p, _, f) in rows if f >= 0.95 and p >= 0.97])
    total, found = measure_candidate_recall(articles)
    print(f"candidate generation: {found}/{total} pairs above the threshold found "
          f"({found / max(total, 1):.3f}) without comparing all pairs")
    reversed_ids = run_stories(list(reversed(articles)))
    same = reversed_ids == run_stories(articles)
    print(f"input order independence (reversed input): {'same stories' if same else 'DIFFERENT'}")
    check_seeds()
    if args.allsides:
        spot_check_allsides(args.allsides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Story clustering quality: B-cubed precision/recall/F1 on ECB+ beside a plain baseline.

Data: ECB+ corpus, topics 1-22 (Agata Cybulska and Piek Vossen, 2014, "Using a sledgehammer
to crack a nut? Lexical diversity and event coreference resolution", LREC; licensed CC BY 3.0),
read from ../shared/data/ecbplus-dev. Each topic holds two look-alike events (hard negatives).
Only the text and outlet are used as input; topic, subtopic and cluster_id are the gold answer.

Printed: find_stories at its fixed threshold; a robustness table over a range of its main
threshold; the baseline (TF-IDF cosine + average-linkage clustering) at its best threshold;
the recall of the sub-quadratic candidate generation; sanity checks on the five seeds (one
story) and a spot check of merged AllSides stories.

Run: python bench/cluster_quality.py [--allsides N]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpora  # noqa: E402
from site_src import cluster, similarity  # noqa: E402
from site_src.model import Article  # noqa: E402


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


def run_baseline(articles: Sequence[Article], gold: Mapping[str, str]) -> tuple[float, tuple]:
    """Return the best threshold and scores of TF-IDF cosine + average linkage."""
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
    for threshold in np.arange(0.02, 0.62, 0.02):
        labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
        scores = score_bcubed({a.id: int(x) for a, x in zip(articles, labels, strict=True)}, gold)
        if scores[2] > best[1][2]:
            best = (round(float(threshold), 2), scores)
    return best


def measure_candidate_recall(articles: Sequence[Article]) -> tuple[int, int]:
    """Count the pairs above the threshold (exhaustive) and how many candidates found."""
    ordered = sorted(articles, key=lambda a: a.id)
    vectors, band_keys, _ = similarity.build_features(ordered)
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

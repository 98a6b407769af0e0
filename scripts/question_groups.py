"""How well `make report` groups "the same question", measured on the benchmark; writes reports/question-groups.md.

Ground truth: two questions of one article are the same question when they ask for the same fact (the
same first expected answer), whatever their wording: a number question, its chat-spelling twin, its
English twin. Questions about different facts are different questions. Every first turn with an
expected answer takes part. For each threshold the questions of all the split's articles are grouped
together, as `make report` groups a knowledge base's questions, and every pair is counted: precision
is the share of pairs put together that are the same question, recall the share of same-question
pairs put together. The threshold with the best F0.5 on the dev split is the default
(REPORT_CLUSTER_THRESHOLD): precision weighs twice, because a group of different questions hides
what readers asked, while one question in two groups only makes the list a line longer. The test
split is reported at it, never used to choose it.
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evalsets import load_sets  # noqa: E402

from knowledge.embed import Embedder  # noqa: E402
from knowledge.settings import get_settings  # noqa: E402
from knowledge.text import normalize  # noqa: E402
from usage.cluster import cluster_questions, normalise  # noqa: E402

THRESHOLDS = tuple(round(t, 3) for t in np.arange(0.86, 0.975, 0.005))


def labelled(split: str) -> dict[str, str]:
    """Question (as the grouping normalises it) -> the fact it asks for, "<article>|<expected>"."""
    out: dict[str, str] = {}
    for es in load_sets((split,)):
        for item in es.items:
            turn = item["turns"][0]
            if turn.get("expect") and not turn.get("abstain"):
                fact = normalize(str(turn["expect"][0]).split("|")[0])
                out.setdefault(normalise(turn["ask"]), f"{es.article_id}|{fact}")
    return out


def pairwise(groups: list[list[str]], truth: dict[str, str]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping against the facts."""
    group_of = {q: i for i, g in enumerate(groups) for q in g}
    together = same = both = 0
    for a, b in combinations(sorted(truth), 2):
        joined = group_of[a] == group_of[b]
        alike = truth[a] == truth[b]
        together += joined
        same += alike
        both += joined and alike
    return (both / together if together else 1.0), (both / same if same else 1.0)


def measure(truth: dict[str, str], embedder: Embedder, threshold: float) -> tuple[float, float]:
    """Group the questions at one threshold and score the grouping."""
    clusters = cluster_questions(list(truth), embedder, threshold)
    return pairwise([[normalise(v) for v, _ in c.variants] for c in clusters], truth)


def f_beta(p: float, r: float, beta: float = 1.0) -> float:
    """The F-measure; beta < 1 weighs precision more."""
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r) if p + r else 0.0


def main() -> int:
    """Score each threshold on dev, choose by F1, report dev and test at the choice."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "question-groups.md")
    args = parser.parse_args()
    s = get_settings()
    embedder = Embedder(s.embedding_model, s.query_prefix, s.passage_prefix)
    dev, test = labelled("dev"), labelled("test")
    rows = [(t, *measure(dev, embedder, t)) for t in THRESHOLDS]
    best = max(rows, key=lambda r: (f_beta(r[1], r[2], 0.5), r[0]))
    chosen = best[0]
    test_p, test_r = measure(test, embedder, chosen)
    old_p, old_r = measure(test, embedder, 0.93)
    lines = [
        "# Grouping \"the same question\" (`make report`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `scripts/question_groups.py` on the benchmark's first turns "
        f"with an expected answer: {len(dev)} dev questions, {len(test)} test questions. Two questions are the same "
        "when they ask for the same fact of the same article. Questions of different answer kinds or tenses are "
        "never grouped. Pairwise precision and recall.",
        "",
        "| threshold | dev precision | dev recall | dev F0.5 | dev F1 |",
        "|---:|---:|---:|---:|---:|",
        *(f"| {t:.3f}{' (chosen)' if t == chosen else ''} | {p:.3f} | {r:.3f} | {f_beta(p, r, 0.5):.3f} "
          f"| {f_beta(p, r):.3f} |" for t, p, r in rows),
        "",
        f"**Chosen: {chosen:.3f}** (best dev F0.5). On the test split at it: precision **{test_p:.3f}**, recall "
        f"**{test_r:.3f}**. The former default, 0.93, there: precision {old_p:.3f}, recall {old_r:.3f}.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

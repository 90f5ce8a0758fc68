"""How long the stats page's flag rates and mean scores by model version take (stats_labels_by_version).

Run: ``.venv/bin/python benchmarks/bench_version_labels.py --rankings 10000`` (under a minute on 2
cores). It builds a throwaway SQLite database with bench_stats's simulated rankings (K = 4, three
labelers a task), gives every ranking scores on most completions and a flag on some, splits the
completions between imported ones and three policy versions, recounts the agreement cache (which
sums them into the ``VersionLabelDay`` roll-ups), and times the selector from the roll-ups (what the
page uses), the selector's pass over rankings (what a filter by labeler uses; both must agree), the
recount of one task, and the whole /stats/ page (median of ``--repeat``, after one warm-up).
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stats import _grow, _setup, _timed  # noqa: E402

FLAG_KEYS = ("instruction", "hallucination", "harmful", "sexual_violent", "other")


def _label_everything(seed: int) -> None:
    """Scores on 90 % of the ranked completions, a flag on 10 %; completions split over 3 versions."""
    from labeling.models import Completion, ModelVersion, Ranking

    rng = random.Random(seed)
    versions = [ModelVersion.objects.create(kind="policy", name=f"bench-v{i}", algorithm="dpo", path="/nowhere")
                for i in range(3)]
    ids = list(Completion.objects.order_by("pk").values_list("pk", flat=True))
    for i, version in enumerate(versions):
        Completion.objects.filter(pk__in=ids[i + 1::4]).update(model_version=version, source="model")
    rankings = list(Ranking.objects.only("pk", "tiers"))
    for ranking in rankings:
        ranked = [cid for tier in ranking.tiers for cid in tier]
        ranking.scores = {str(cid): rng.randint(1, 7) for cid in ranked if rng.random() < 0.9}
        ranking.flags = {str(cid): [rng.choice(FLAG_KEYS)] for cid in ranked if rng.random() < 0.1}
    Ranking.objects.bulk_update(rankings, ["scores", "flags"], batch_size=2000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rankings", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-version-labels-"))
    try:
        _setup(directory)
        from django.contrib.auth import get_user_model
        from django.test import Client

        from labeling.models import Project, RankingTask
        from labeling.selectors.rankings import RankingFilter
        from labeling.selectors.version_labels import stats_labels_by_version
        from labeling.services.stats import stats_rebuild_all, task_stats_rebuild
        from labeling.stats_models import VersionLabelDay

        grown = _grow(args.rankings, seed=0)
        _label_everything(seed=0)
        recount, _ = _timed(stats_rebuild_all)  # the labels were added after _grow counted the rankings
        task_id = RankingTask.objects.order_by("-id").values_list("id", flat=True).first()
        one_task, _ = _timed(lambda: task_stats_rebuild(task_ids=[task_id]), args.repeat)
        everything = RankingFilter(project=Project.objects.get(slug="default"))
        stats_labels_by_version(everything)  # warm-up
        selector, figures = _timed(lambda: stats_labels_by_version(everything), args.repeat)
        by_pass, passed = _timed(lambda: stats_labels_by_version(everything, from_rankings=True), args.repeat)
        assert passed == figures, "the roll-ups and the pass over rankings disagree"
        client = Client()
        client.force_login(get_user_model().objects.create_user("bench-admin", is_staff=True))
        client.get("/stats/")
        page, response = _timed(lambda: client.get("/stats/"), args.repeat)
        assert response.status_code == 200 and b"by model version" in response.content
        harmful = {row["name"]: round(row["flag_rates"]["harmful"], 4) for row in figures["versions"]}
        print(f"{grown['rankings']} rankings: stats_labels_by_version {selector:.3f} s from the roll-ups "
              f"({by_pass:.3f} s by the pass over rankings), whole /stats/ {page:.3f} s; recount everything "
              f"{recount:.1f} s, one task {one_task * 1000:.1f} ms; {VersionLabelDay.objects.count()} roll-up rows; "
              f"judgements {sum(r['ranked'] for r in figures['versions'])}, harmful rate by version {harmful}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

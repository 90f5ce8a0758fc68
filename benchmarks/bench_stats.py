"""How long the agreement dashboard (/stats/) takes at 10k and at 100k rankings.

Run: ``.venv/bin/python benchmarks/bench_stats.py`` (about 2-4 minutes on 2 cores). It builds a
throwaway SQLite database under a temporary directory, fills it with rankings from the simulated
labelers (``modeling.simulation.oracle`` noise model, 8 labelers plus one planted random labeler, K = 4, three
rankings per task), counts them into the agreement cache, and times whole page requests through
Django's test client (median of several, after one warm-up). Then it adds 90k more rankings, counts
only those (the cache is incremental), and times the page again. ``--keep DIR`` keeps the database.
Last it adds a second project of 20k rankings (``--other-project``) and times the first project's
page beside it: the roll-ups are keyed by project, so that time should not move.
Each batch of new tasks is split three ways, as after real rounds: an imported task set and the
samples of two training rounds, so the page is also timed filtered by a round and by a task set.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(directory: Path) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["RLHF_VAR_DIR"] = str(directory)
    os.environ["DATABASE_URL"] = f"sqlite:///{directory / 'bench.sqlite3'}"  # three slashes + absolute path
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["DJANGO_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _timed(action, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _page_times(client, repeat: int, filters: dict) -> dict:
    from labeling.models import Ranking

    client.get("/stats/")  # warm-up: template compilation, first connection
    page, response = _timed(lambda: client.get("/stats/"), repeat)
    assert response.status_code == 200, response.status_code
    first = Ranking.objects.order_by("created_at").values_list("created_at", flat=True).first()
    since = (first.date()).isoformat()
    filtered, _ = _timed(lambda: client.get("/stats/", {"since": since, "sort": "consensus"}), repeat)
    exported, _ = _timed(lambda: client.get("/stats/labelers.csv"), repeat)
    by_round, response = _timed(lambda: client.get("/stats/", {"round": filters["round"]}), repeat)
    assert response.status_code == 200 and b"Showing everything" not in response.content
    by_set, response = _timed(lambda: client.get("/stats/", {"task_set": filters["task_set"]}), repeat)
    assert response.status_code == 200 and b"Showing everything" not in response.content
    from labeling.models import Project
    from labeling.selectors import stats as selectors
    from labeling.selectors.rankings import RankingFilter

    project = Project.objects.get(slug="default")
    everything = RankingFilter(project=project)
    for key, value in (("rounds", (filters["round"],)), ("task_sets", (filters["task_set"],))):
        assert selectors.stats_totals(RankingFilter(project=project, **{key: value}))["rankings"] > 0, \
            f"{key} found nothing"
    flagged = [f"{r['name']} ({', '.join(sorted(r['flags']))})" for r in selectors.stats_labeler_rows(everything)
               if r["flags"]]
    rows = {r["id"]: r["name"] for r in selectors.stats_labeler_rows(everything)}
    among = [v for (a, b), v in selectors.stats_pair_cells(everything).items()
             if not rows[a].startswith("random") and not rows[b].startswith("random")]
    return {"page": page, "filtered": filtered, "csv": exported, "by_round": by_round, "by_set": by_set,
            "totals": selectors.stats_totals(everything), "rounds": selectors.stats_agreement_by_round(everything),
            "flagged": flagged, "simulated": sum(a for a, _ in among) / sum(c for _, c in among)}


def _split_into_sets(task_ids: list[int], number: int) -> dict:
    """A third of the new tasks becomes an imported set, the rest the samples of two finished rounds.

    Interleaved, so that every set and round has rankings on every day: the most roll-up rows (in real
    use a round's tasks are ranked in the days after it, which makes fewer).
    """
    from labeling.models import ModelVersion, RankingTask, Run, TrainingRound

    policy, _ = ModelVersion.objects.get_or_create(name="bench-policy", defaults={
        "kind": ModelVersion.Kind.POLICY, "algorithm": "external", "path": "/nowhere"})
    RankingTask.objects.filter(pk__in=task_ids[0::3]).update(task_set=f"import-{number}.jsonl")
    rounds = []
    for part in (task_ids[1::3], task_ids[2::3]):
        training_round = TrainingRound.objects.create(algo="dpo", status="succeeded", active=False, policy_in=policy)
        run = Run.objects.create(kind="sample", status="succeeded", training_round=training_round)
        RankingTask.objects.filter(pk__in=part).update(source_run=run, task_set=f"round-{training_round.pk}")
        rounds.append(training_round.pk)
    return {"task_set": f"import-{number}.jsonl", "round": rounds[-1]}


def _grow(to_rankings: int, seed: int) -> dict:
    from labeling.models import Ranking, RankingTask
    from labeling.services.simulated_rankings import SimulationSpec, rankings_simulate
    from labeling.services.stats import stats_refresh

    missing = to_rankings - Ranking.objects.count()
    tasks = round(missing / (3 * 0.97))  # three labelers per task, 3 % of them skip
    spec = SimulationSpec(tasks=tasks, k=4, labelers=8, random_labelers=1, per_task=3, days=120,
                          gold_share=0.05, target_agreement=0.726, seed=seed)
    last_task = RankingTask.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    generate, counts = _timed(lambda: rankings_simulate(spec=spec))
    new_tasks = list(RankingTask.objects.filter(pk__gt=last_task).order_by("pk").values_list("pk", flat=True))
    filters = _split_into_sets(new_tasks, seed)
    count, counted = _timed(stats_refresh)
    return {"generate": generate, "count": count, "counted": counted, "rankings": Ranking.objects.count(),
            "filters": filters}


def _second_project(rankings: int, seed: int) -> dict:
    """A second project beside the first, with ``rankings`` rankings of its own (the same labelers)."""
    from labeling.models import Project, Prompt, Ranking
    from labeling.services.simulated_rankings import SimulationSpec, rankings_simulate
    from labeling.services.stats import stats_refresh

    other = Project.objects.create(slug="other", name="Other project")
    last_prompt = Prompt.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    before = Ranking.objects.count()
    rankings_simulate(spec=SimulationSpec(tasks=round(rankings / (3 * 0.97)), k=4, labelers=8, random_labelers=1,
                                          per_task=3, days=120, gold_share=0.05, target_agreement=0.726, seed=seed))
    Prompt.objects.filter(pk__gt=last_prompt).update(project=other)  # before counting: rows get their project
    count, _ = _timed(stats_refresh)
    return {"rankings": Ranking.objects.count() - before, "count": count}


def _rollup_rows() -> str:
    from labeling.models import LabelerDay, PairDay, TaskDay
    from labeling.stats_models import VersionLabelDay

    return ", ".join(f"{m.__name__} {m.objects.count()}" for m in (LabelerDay, PairDay, TaskDay, VersionLabelDay))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated ranking counts, ascending")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per figure (median reported)")
    parser.add_argument("--keep", help="keep the database in this directory instead of a temporary one")
    parser.add_argument("--other-project", type=int, default=20000,
                        help="then add a second project with this many rankings and time the first's page again "
                             "(0: skip)")
    args = parser.parse_args()
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-stats-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        _setup(directory)
        from django.contrib.auth import get_user_model
        from django.test import Client

        from labeling.models import Ranking, RankingTask
        from labeling.services.stats import task_stats_rebuild

        admin = get_user_model().objects.create_user("bench-admin", is_staff=True)
        client = Client()
        client.force_login(admin)
        results = []
        for number, size in enumerate(int(s) for s in args.sizes.split(",")):
            grown = _grow(size, seed=number)
            task_id = RankingTask.objects.order_by("-id").values_list("id", flat=True).first()
            one_task, _ = _timed(lambda: task_stats_rebuild(task_ids=[task_id]), 5)
            pages = _page_times(client, args.repeat, grown["filters"])
            results.append({**grown, **pages, "one_task": one_task})
            t = pages["totals"]
            print(f"{grown['rankings']:>7} rankings: generate {grown['generate']:.1f} s, count {grown['counted']} new "
                  f"in {grown['count']:.1f} s, recount one task {one_task * 1000:.1f} ms | /stats/ {pages['page']:.3f} s, "
                  f"filtered+sorted {pages['filtered']:.3f} s, by round {pages['by_round']:.3f} s, by task set "
                  f"{pages['by_set']:.3f} s, CSV {pages['csv']:.3f} s | agreement "
                  f"{t['agreement']:.3f} (simulated labelers among themselves {pages['simulated']:.3f}), tau-b {t['tau_b']:.3f}, alpha {t['alpha']:.3f}, flagged {pages['flagged']}",
                  flush=True)
            print("         by round: " + ", ".join(f"{r['round'].pk if r['round'] else 'none'} "
                                                 f"{r['agreement']:.3f} ({r['rankings']})" for r in pages["rounds"]))
        if len(results) >= 2:
            small, large = results[0], results[-1]
            print(f"page time ratio {large['rankings']}/{small['rankings']} rankings: "
                  f"{large['page'] / small['page']:.2f} (rankings x{large['rankings'] / small['rankings']:.1f}); "
                  f"database {os.path.getsize(directory / 'bench.sqlite3') / 1e6:.0f} MB, "
                  f"{Ranking.objects.count()} rankings; roll-up rows {_rollup_rows()}")
        if args.other_project:
            other = _second_project(args.other_project, seed=len(results))
            beside, response = _timed(lambda: client.get("/stats/", {"project": "default"}), args.repeat)
            assert response.status_code == 200
            second, response = _timed(lambda: client.get("/stats/", {"project": "other"}), args.repeat)
            assert response.status_code == 200 and b"Other project" in response.content
            alone = results[-1]["page"]
            print(f"beside a second project of {other['rankings']} rankings (counted in {other['count']:.1f} s): "
                  f"/stats/ of the first {beside:.3f} s (alone {alone:.3f} s, ratio {beside / alone:.2f}); "
                  f"the second project's /stats/ {second:.3f} s; roll-up rows {_rollup_rows()}")
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

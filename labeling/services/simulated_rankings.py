"""Fill a database with simulated rankings: to try the agreement dashboard, test it and benchmark it.

Prompts come from ``modeling.simulation.instructions`` (whose answers a program can judge); each task gets K
completions of mixed quality, ranked by the model of ``modeling.simulation.oracle`` (gold score plus the
labeler's own Gaussian noise, tied within ``tie_threshold``). Planted ``random`` labelers shuffle the cards and submit fast; they are
what the dashboard must flag. Rows are written with ``bulk_create``, bypassing ``ranking_submit`` and
its leases, so that 100k rankings take seconds: this is for demos, tests and benchmarks only.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from labeling.models import Completion, Prompt, Ranking, RankingTask, Skip
from labeling.services.prompts import prompt_fields


@dataclass(frozen=True)
class SimulationSpec:
    tasks: int = 100
    k: int = 4
    labelers: int = 4  # simulated labelers with the oracle's noise
    random_labelers: int = 1  # planted labelers who rank at random
    per_task: int = 3  # rankings per task, by labelers drawn at random
    skip_rate: float = 0.03  # share of drawn labelers who skip instead
    gold_share: float = 0.05  # share of tasks with gold tiers (the oracle's noiseless ranking)
    days: int = 28  # rankings spread evenly over this many days up to now
    noise: float | None = None  # oracle noise; None: the oracle's default
    target_agreement: float | None = None  # if set, calibrate the noise to this pairwise agreement
    seed: int = 0
    prefix: str = "sim"  # labelers are <prefix>-1.., random-<prefix>-1..


def _candidates(prompt: str, rng: random.Random) -> list[str]:
    from modeling.simulation.instructions import reference_response

    good = reference_response(prompt, rng)
    words = good.split()
    return [good, reference_response(prompt, rng), " ".join(words[: max(1, len(words) // 2)]),
            f"{good} {good}", "I am not sure.", " ".join(reversed(words)), f"{good} Let me know if you need more."]


@contextlib.contextmanager
def _explicit_created_at(*models):
    """Let bulk_create keep the ``created_at`` we set (auto_now_add would overwrite it)."""
    fields = [model._meta.get_field("created_at") for model in models]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


def _users(spec: SimulationSpec):
    User = get_user_model()
    names = [f"{spec.prefix}-{i}" for i in range(1, spec.labelers + 1)]
    names += [f"random-{spec.prefix}-{i}" for i in range(1, spec.random_labelers + 1)]
    users = []
    for name in names:
        user, created = User.objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def rankings_simulate(*, spec: SimulationSpec, batch: int = 2000) -> dict:
    """Create ``spec.tasks`` tasks and about ``per_task`` rankings of each; returns counts."""
    from modeling.simulation import oracle
    from modeling.simulation.instructions import gold_score, generate_prompts

    rng = random.Random(spec.seed)
    cached_gold = functools.lru_cache(maxsize=None)(gold_score)
    pool = generate_prompts(min(spec.tasks, 600), spec.seed)
    config = oracle.LabelerConfig(seed=spec.seed, **({"noise": spec.noise} if spec.noise is not None else {}))
    if spec.target_agreement is not None:
        samples = [(p, rng.sample(_candidates(p, rng), spec.k)) for p in pool[:60]]
        config.noise = oracle.calibrate_noise(samples, spec.target_agreement, config.tie_threshold, iterations=10)
    users = _users(spec)
    # Each simulated labeler's noise stream, seeded as modeling.simulation.oracle.SimulatedLabeler seeds its own;
    # scores are the oracle's model (oracle.perceived_scores, tiers_from_scores) with gold scores cached.
    noise = {u.pk: None if u.username.startswith("random-") else random.Random(oracle.labeler_seed(config.seed, u.username))
             for u in users}
    end = timezone.now()
    step = dt.timedelta(days=spec.days) / max(1, spec.tasks * spec.per_task)
    counts = {"tasks": 0, "rankings": 0, "skips": 0, "noise": config.noise}
    with _explicit_created_at(Ranking, Skip), transaction.atomic():
        for start in range(0, spec.tasks, batch):
            n = min(batch, spec.tasks - start)
            prompts = Prompt.objects.bulk_create(Prompt(**prompt_fields(pool[(start + i) % len(pool)]))
                                                 for i in range(n))
            tasks = RankingTask.objects.bulk_create(RankingTask(prompt=p, required_rankings=spec.per_task) for p in prompts)
            texts = {t.pk: rng.sample(_candidates(t.prompt.text, rng), spec.k) for t in tasks}
            completions = Completion.objects.bulk_create(
                Completion(task=t, text=text, source=Completion.Source.SEED, source_detail="simulated")
                for t in tasks for text in texts[t.pk])
            ids: dict[int, list[int]] = {}
            for c in completions:
                ids.setdefault(c.task_id, []).append(c.pk)
            rankings, skips, gold_tasks = [], [], []
            for t in tasks:
                prompt, cids = t.prompt.text, ids[t.pk]
                if rng.random() < spec.gold_share:
                    truth = oracle.tiers_from_scores([cached_gold(prompt, x) for x in texts[t.pk]], config.tie_threshold)
                    t.gold_tiers = [[cids[i] for i in tier] for tier in truth]
                    gold_tasks.append(t)
                for user in rng.sample(users, min(spec.per_task, len(users))):
                    moment = end - step * (spec.tasks * spec.per_task - counts["rankings"] - counts["skips"])
                    if rng.random() < spec.skip_rate:
                        skips.append(Skip(task=t, labeler=user, reason=Skip.Reason.UNCLEAR, created_at=moment))
                        counts["skips"] += 1
                        continue
                    shown = rng.sample(cids, len(cids))
                    own = noise[user.pk]
                    if own is None:
                        tiers, seconds = [[cid] for cid in rng.sample(cids, len(cids))], rng.uniform(3, 9)
                    else:
                        scores = oracle.perceived_scores([cached_gold(prompt, x) for x in texts[t.pk]], own, config)
                        tiers = [[cids[i] for i in tier] for tier in oracle.tiers_from_scores(scores, config.tie_threshold)]
                        seconds = rng.lognormvariate(3.5, 0.4)
                    rankings.append(Ranking(task=t, labeler=user, tiers=tiers, display_order=shown, seconds=seconds,
                                            submission_id=f"sim-{t.pk}-{user.pk}", created_at=moment))
                    counts["rankings"] += 1
            RankingTask.objects.bulk_update(gold_tasks, ["gold_tiers"])
            Ranking.objects.bulk_create(rankings, batch_size=1000)
            Skip.objects.bulk_create(skips, batch_size=1000)
            counts["tasks"] += n
    return counts

"""The daily roll-up of labelers' scores and flags by model version (``VersionLabelDay``).

Written like the other roll-ups: :func:`labeling.services.stats.rollups_rebuild` calls
:func:`version_label_days_rebuild` with the same (project, day) scope, after the cached per-ranking
rows of the rebuilt tasks were replaced, and it recomputes those days in a transaction of its own.
Its source is the day's ``RankingStats`` rows, that is the rankings the cache counted (a ranking a
reviewer rejected has none), with their task's project, set and round: so these figures cover the
same rankings as every other figure on the page, and recounting a day is idempotent. There is no
per-ranking cache of scores and flags: a recount reads the scoped days' rankings' JSON once
(``benchmarks/bench_stats.py``: recount one task; ``RESULTS.md``).

``ranked`` is counted by the database (every completion of a ranked task is ranked: one judgement
per ranking per completion); scores and flags are JSON keyed by completion id, summed in Python by
:mod:`labeling.version_judgements`, the same code the stats selector's per-ranking pass uses.
"""
from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Q, TextField
from django.db.models.functions import Cast

from labeling.models import Completion, RankingStats
from labeling.stats_models import VersionLabelDay
from labeling.version_judgements import add_judgements, decoded, totals_by_version

CHUNK = 2000  # rankings' JSON decoded per json.loads
_KEYS = ("project_id", "day", "task_set", "training_round_id")


def version_label_days_rebuild(*, scope: Q) -> int:
    """Recompute the VersionLabelDay rows in ``scope`` (a Q over project and day) from the counted
    rankings of those days; returns the rows written."""
    with transaction.atomic():
        VersionLabelDay.objects.filter(scope).delete()
        counted = RankingStats.objects.filter(scope)
        by_keys: dict[tuple, dict] = defaultdict(totals_by_version)
        ranked = counted.values_list(*_KEYS, "task__completions__model_version").annotate(n=Count("pk")).order_by()
        for *keys, version, n in ranked:
            by_keys[tuple(keys)][version]["ranked"] += n
        sampled = Completion.objects.filter(task__in=counted.values("task_id"), model_version__isnull=False)
        version_of = {str(pk): version for pk, version in
                      sampled.values_list("pk", "model_version_id").iterator(chunk_size=5000)}
        texts = counted.values_list(*_KEYS, Cast("ranking__scores", TextField()), Cast("ranking__flags", TextField()))
        for *keys, scores, flagged in decoded(texts.iterator(chunk_size=CHUNK), CHUNK):
            add_judgements(by_keys[tuple(keys)], version_of, scores, flagged)
        rows = [VersionLabelDay(**dict(zip(_KEYS, keys)), model_version_id=version, ranked=t["ranked"],
                                scored=t["scored"], score_sum=t["score_sum"], flag_counts=dict(t["flagged"]))
                for keys, versions in by_keys.items() for version, t in versions.items()]
        VersionLabelDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)

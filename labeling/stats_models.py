"""The cached agreement figures: ``labeling/services/stats.py`` writes them, the dashboard sums them.

Per-row caches (:class:`RankingStats` per ranking, :class:`RankingPair` per two labelers' rankings
of a task, :class:`TaskAgreement` per task) and their daily roll-ups (:class:`LabelerDay`,
:class:`PairDay`, :class:`TaskDay`; :class:`VersionLabelDay` sums the counted rankings' scores and
flags by model version). Every row carries the keys the dashboard filters by, copied from its task:
the project, the task set and the training round (the round of the sample run that made the task).
So a project's page, and its filters by set and round, are sums over its own roll-ups, whatever the
other projects hold. All of it can be recomputed from the rankings (``manage.py stats_rebuild``); a
migration that changes the keys or adds a roll-up empties it and the next refresh recounts.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from labeling.models import TASK_SET_MAX_LENGTH, ModelVersion, Project, Ranking, RankingTask, TrainingRound


def _project_key():
    """The row's project, copied from its task's prompt (never defaulted: the writer always sets it)."""
    return models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)


def _round_field(**extra):
    return models.ForeignKey(TrainingRound, null=True, blank=True, on_delete=models.CASCADE, related_name="+", **extra)


class RankingStats(models.Model):
    """One ranking's figures, recomputed whenever its task gets another ranking."""

    ranking = models.OneToOneField(Ranking, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="+")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = _project_key()
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field()
    created_at = models.DateTimeField(db_index=True)  # the ranking's
    day = models.DateField()  # its UTC date: throughput is grouped by it without date functions in SQL
    seconds = models.FloatField(null=True, blank=True)
    # Pairs agreeing with the majority of the task's other labelers, and pairs that had a majority.
    consensus_agree = models.PositiveIntegerField(default=0)
    consensus_compared = models.PositiveIntegerField(default=0)
    gold_agree = models.PositiveIntegerField(default=0)
    gold_compared = models.PositiveIntegerField(default=0)  # 0 when the task has no gold
    follows_display_order = models.BooleanField(default=False)
    first_shown_credit = models.FloatField(default=0)  # 1/t when the first-shown card is in a top tier of t
    first_shown_chance = models.FloatField(default=0)  # 1/K

    class Meta:
        indexes = [
            models.Index(fields=["project", "day"]),
            # Covers the per-labeler median: walk one labeler's seconds in a project in order, date,
            # set and round checked in the index.
            models.Index(fields=["project", "labeler", "seconds", "created_at", "task_set", "training_round"]),
            # The labeler home: one labeler's figures per project.
            models.Index(fields=["labeler", "project"]),
        ]


class RankingPair(models.Model):
    """Two labelers' rankings of the same task compared: the cells of the agreement matrix."""

    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="+")
    ranking_a = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="+")
    ranking_b = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="+")
    labeler_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    labeler_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = _project_key()
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field()
    created_at = models.DateTimeField(db_index=True)  # the later ranking's: when the pair became comparable
    day = models.DateField()
    agree = models.PositiveIntegerField()
    compared = models.PositiveIntegerField()
    tau_b = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ranking_a", "ranking_b"], name="ranking_pair_unique"),
            models.CheckConstraint(condition=Q(labeler_a__lt=models.F("labeler_b")), name="ranking_pair_ordered"),
        ]
        indexes = [models.Index(fields=["project", "day"])]


class TaskAgreement(models.Model):
    """A task's agreement over all its rankings: pooled pair counts and alpha's coincidences."""

    task = models.OneToOneField(RankingTask, on_delete=models.CASCADE, primary_key=True, related_name="agreement")
    n_rankings = models.PositiveSmallIntegerField()
    project = _project_key()
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field(db_index=False)  # the index with share serves
    last_ranked_at = models.DateTimeField(db_index=True)
    day = models.DateField(db_index=True)  # UTC date of the latest ranking
    agree = models.PositiveIntegerField(default=0)
    compared = models.PositiveIntegerField(default=0)
    share = models.FloatField(null=True, blank=True)  # agree / compared: lowest first on the page
    tau_b_mean = models.FloatField(null=True, blank=True)
    # [[value_c, value_k, weight], ...]: this task's cells of the ordinal-alpha coincidence matrix.
    coincidences = models.JSONField(default=list, blank=True)

    class Meta:
        # The lowest-agreement walk of a project, and of a project filtered by set or round.
        indexes = [models.Index(fields=["project", "share"]), models.Index(fields=["project", "task_set", "share"]),
                   models.Index(fields=["project", "training_round", "share"])]


# Daily roll-ups of the rows above: the dashboard sums a few hundred of these instead of 100k rows.
# Each is recomputed for the days a rebuild touched. They are keyed by project, task set and
# training round as well as by day, so every filter stays a sum over one project's roll-ups. A
# deleted round takes its cached rows with it; its tasks' rankings are then counted again (under no
# round) by the next refresh.


def _round_key():
    """The round in a unique constraint: rows of no round must collide too (NULLs never do)."""
    return Coalesce("training_round", Value(0))


class LabelerDay(models.Model):
    """One labeler's RankingStats summed over one UTC day."""

    project = _project_key()
    day = models.DateField()
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field()
    rankings = models.PositiveIntegerField()
    consensus_agree = models.PositiveIntegerField()
    consensus_compared = models.PositiveIntegerField()
    gold_agree = models.PositiveIntegerField()
    gold_compared = models.PositiveIntegerField()
    follows_display_order = models.PositiveIntegerField()  # rankings submitted exactly as shown
    first_shown_credit = models.FloatField()
    first_shown_chance = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint("project", "day", "labeler", "task_set", _round_key(),
                                               name="labeler_day_unique")]


class PairDay(models.Model):
    """RankingPairs of two labelers summed over the UTC day their later ranking came in."""

    project = _project_key()
    day = models.DateField()
    labeler_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    labeler_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field()
    agree = models.PositiveIntegerField()
    compared = models.PositiveIntegerField()
    tau_b_sum = models.FloatField()
    tau_b_count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint("project", "day", "labeler_a", "labeler_b", "task_set", _round_key(),
                                               name="pair_day_unique")]


class TaskDay(models.Model):
    """Tasks whose latest ranking came in on one UTC day: how many, and their summed coincidences."""

    project = _project_key()
    day = models.DateField()
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field()
    tasks = models.PositiveIntegerField()
    tasks_multi = models.PositiveIntegerField()  # with two or more rankings
    coincidences = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("project", "day", "task_set", _round_key(), name="task_day_unique")]


class VersionLabelDay(models.Model):
    """What labelers said on one UTC day about the completions of one model version (None: imported,
    seed or demo completions), over the rankings counted that day (``RankingStats``): judgements,
    1-7 scores and flags, summed by ``labeling.version_judgements``."""

    project = _project_key()
    day = models.DateField()
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="")
    training_round = _round_field()
    # A version with completions cannot be deleted (Completion.model_version protects it).
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    ranked = models.PositiveIntegerField()  # its completions as ranked: one judgement per ranking per completion
    scored = models.PositiveIntegerField()
    score_sum = models.PositiveIntegerField()
    flag_counts = models.JSONField(default=dict, blank=True)  # {flag key: judgements carrying it}

    class Meta:
        constraints = [models.UniqueConstraint("project", "day", "task_set", _round_key(),
                                               Coalesce("model_version", Value(0)), name="version_label_day_unique")]

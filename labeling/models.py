"""Data model: prompts, their sampled completions, ranking tasks, leases, rankings and skips.

A ranking's ``tiers`` are completion ids best to worst; a tier of two or more ids is a tie:
``[[c3], [c1, c4], [c2]]`` (DESIGN.md). Invariants are held by database constraints as well as by
the services that write these rows.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q


class Prompt(models.Model):
    text = models.TextField()
    # Caller's own id from an import file, so re-importing the same file creates nothing twice.
    external_id = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="prompt_external_id_unique"
            ),
        ]

    def __str__(self):
        return f"Prompt {self.pk}: {self.text[:60]}"


class RankingTask(models.Model):
    """One prompt and its K completions, to be ranked by ``required_rankings`` different labelers."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tasks")
    required_rankings = models.PositiveSmallIntegerField(default=3)
    # Tiers of completion ids known to be right: marks the task as a quality check.
    gold_tiers = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(required_rankings__gte=1) & Q(required_rankings__lte=50),
                name="task_required_rankings_range",
            ),
        ]

    def __str__(self):
        return f"Task {self.pk} ({self.prompt.text[:40]})"

    @property
    def is_gold(self) -> bool:
        return self.gold_tiers is not None


class Completion(models.Model):
    class Source(models.TextChoices):
        SEED = "seed", "Seed file"
        IMPORT = "import", "Imported"
        MODEL = "model", "Sampled from a model version"

    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="completions")
    text = models.TextField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.IMPORT)
    # Where exactly: a file name now, a model version later.
    source_detail = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=["seed", "import", "model"]), name="completion_source_valid"),
        ]

    def __str__(self):
        return f"Completion {self.pk}: {self.text[:60]}"


class Assignment(models.Model):
    """A lease of a task to one labeler. Expired leases are renewed or given to someone else."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="assignments")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Completion ids in the order this labeler is shown them (shuffled per assignment).
    display_order = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="assignment_one_per_task_labeler"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "submitted", "skipped"]), name="assignment_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["task", "status", "expires_at"])]

    def __str__(self):
        return f"Assignment {self.pk}: task {self.task_id} to {self.labeler_id} ({self.status})"


class Ranking(models.Model):
    class Flag(models.TextChoices):
        INSTRUCTION = "instruction", "Fails to follow the instruction"
        HALLUCINATION = "hallucination", "Hallucination"
        HARMFUL = "harmful", "Harmful or inappropriate"
        SEXUAL_VIOLENT = "sexual_violent", "Sexual or violent content"
        OTHER = "other", "Other"

    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="rankings")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rankings")
    # Completion ids best to worst; a tier of two or more is a tie.
    tiers = models.JSONField()
    # {"<completion id>": 1..7}; completions without a score are absent.
    scores = models.JSONField(default=dict, blank=True)
    # {"<completion id>": ["hallucination", ...]}; completions without a flag are absent.
    flags = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True, default="")
    seconds = models.FloatField(null=True, blank=True)
    # The order the labeler saw, copied from the assignment (for position-bias statistics).
    display_order = models.JSONField()
    # Client-generated id: a retried or double submit with the same id returns this ranking.
    submission_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="ranking_one_per_task_labeler"),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0), name="ranking_seconds_non_negative"
            ),
        ]

    def __str__(self):
        return f"Ranking {self.pk}: task {self.task_id} by {self.labeler_id}"


class Skip(models.Model):
    class Reason(models.TextChoices):
        UNCLEAR = "unclear", "The prompt is unclear"
        EXPERTISE = "expertise", "Needs expertise I lack"
        BROKEN = "broken", "Completions are broken or identical"
        UNSAFE = "unsafe", "I don't want to read this content"
        OTHER = "other", "Other"

    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="skips")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="skip_one_per_task_labeler"),
            models.CheckConstraint(
                condition=Q(reason__in=["unclear", "expertise", "broken", "unsafe", "other"]),
                name="skip_reason_valid",
            ),
        ]

    def __str__(self):
        return f"Skip {self.pk}: task {self.task_id} by {self.labeler_id} ({self.reason})"

"""Data model: prompts, their sampled completions, ranking tasks, leases, rankings and skips.

Every prompt belongs to one :class:`Project`, and everything about a prompt (its tasks, their
completions, leases, rankings and skips) belongs to the prompt's project through the prompt, so a
task and its prompt can never be in different projects. Runs, training rounds and model versions
carry their project themselves. A row made without a project is in the ``default`` project, which
the first migration of projects creates and fills with what existed before.

A ranking's ``tiers`` are completion ids best to worst; a tier of two or more ids is a tie:
``[[c3], [c1, c4], [c2]]`` (DESIGN.md). Invariants are held by database constraints as well as by
the services that write these rows.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

TASK_SET_MAX_LENGTH = 100

# Projects and their people live in their own module; the names stay importable from here (migrations
# name labeling.models.default_project_id and friends).
from labeling.project_models import (  # noqa: F401
    DEFAULT_PROJECT_SLUG, Membership, Project, ProjectInvite, default_flags, default_project_id,
    default_skip_reasons,
)


def _project_field(related_name: str):
    return models.ForeignKey(Project, on_delete=models.PROTECT, related_name=related_name, default=default_project_id)


class Prompt(models.Model):
    """What the policy answers: a string, or a conversation (``modeling.formats.conversation``)."""

    # The string prompt itself; for a conversation its plain text (``prompt_text``), for search and CSV.
    project = _project_field("prompts")
    text = models.TextField()
    # A conversation's messages (``[{"role", "content"}, ...]`` ending with a user turn); null for a string.
    messages = models.JSONField(null=True, blank=True)
    # Caller's own id from an import file, so re-importing the same file creates nothing twice.
    external_id = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], condition=~Q(external_id=""), name="prompt_external_id_unique"
            ),
        ]

    def __str__(self):
        return f"Prompt {self.pk}: {self.text[:60]}"

    @property
    def value(self):
        """The prompt as JSONL files hold it: the string, or the list of messages."""
        return self.messages if self.messages else self.text

    @property
    def is_conversation(self) -> bool:
        return bool(self.messages)


class RankingTask(models.Model):
    """One prompt and its K completions, to be ranked by ``required_rankings`` different labelers."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tasks")
    required_rankings = models.PositiveSmallIntegerField(default=3)
    # Tiers of completion ids known to be right: marks the task as a quality check.
    gold_tiers = models.JSONField(null=True, blank=True)
    # The sample run that made it (none for imported and demo tasks); its round is the task's round.
    source_run = models.ForeignKey(
        "Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks_sampled"
    )
    # The batch it came in, for filtering: an import file's name, "demo", "round-<id>" or "run-<id>".
    # The agreement cache copies it: after editing it, run `manage.py stats_rebuild`.
    task_set = models.CharField(max_length=TASK_SET_MAX_LENGTH, blank=True, default="", db_index=True)
    # Leasing serves higher priorities first (then oldest first): active selection's informativeness rank.
    # db_default: a web worker on the code before 0011 (during a deploy) inserts tasks without it.
    priority = models.FloatField(default=0.0, db_default=0.0)
    # How active selection chose it: {"method", "score", "rank", "random_pick", "pool"}; None = not selected.
    selection = models.JSONField(null=True, blank=True)
    # Set aside by a round as a canary: the new policy's samples that check the reward model against labelers;
    # never trained on (issue 19's human canaries).
    canary = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["-priority", "created_at", "id"], name="task_queue_order")]
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
    # Where exactly: the file it was imported from, or the sampling run.
    source_detail = models.CharField(max_length=300, blank=True, default="")
    # The policy version that sampled it (source "model").
    model_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="completions"
    )

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
    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="rankings")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rankings")
    # Completion ids best to worst; a tier of two or more is a tie.
    tiers = models.JSONField()
    # {"<completion id>": 1..7}; completions without a score are absent.
    scores = models.JSONField(default=dict, blank=True)
    # {"<completion id>": ["hallucination", ...]}, keys of the project's flags; completions without a flag are absent.
    flags = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True, default="")
    seconds = models.FloatField(null=True, blank=True)
    # The order the labeler saw, copied from the assignment (for position-bias statistics).
    display_order = models.JSONField()
    # Client-generated id: a retried or double submit with the same id returns this ranking.
    submission_id = models.CharField(max_length=64)
    # Review (labeling.review_models.ReviewDecision holds the history): "" not reviewed, accepted,
    # rejected (left out of training, exports and agreement) or corrected (corrected_tiers, the
    # reviewer's order, trains and exports in place of tiers, which is kept).
    # db_default too: a web worker still running the code before migration 0008 (during a deploy)
    # inserts rankings without this column, and Postgres would refuse the NULL.
    review_status = models.CharField(max_length=16, blank=True, default="", db_default="", db_index=True)
    corrected_tiers = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="ranking_one_per_task_labeler"),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0), name="ranking_seconds_non_negative"
            ),
            models.CheckConstraint(condition=Q(review_status__in=["", "accepted", "rejected", "corrected"]),
                                   name="ranking_review_status_valid"),
        ]

    @property
    def final_tiers(self) -> list:
        """What trains and exports: the reviewer's corrected order if there is one, else the labeler's."""
        return self.corrected_tiers if self.review_status == "corrected" and self.corrected_tiers else self.tiers

    def __str__(self):
        return f"Ranking {self.pk}: task {self.task_id} by {self.labeler_id}"


class Skip(models.Model):
    # The default project's reasons (default_skip_reasons()), for code that writes skips itself
    # (the simulated labelers); the skip service accepts the task's project's keys.
    class Reason(models.TextChoices):
        UNCLEAR = "unclear", "The prompt is unclear"
        EXPERTISE = "expertise", "Needs expertise I lack"
        BROKEN = "broken", "Completions are broken or identical"
        UNSAFE = "unsafe", "I don't want to read this content"
        OTHER = "other", "Other"

    task = models.ForeignKey(RankingTask, on_delete=models.CASCADE, related_name="skips")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips")
    # A key of the project's skip_reasons (Reason: the default project's keys).
    reason = models.CharField(max_length=40)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="skip_one_per_task_labeler"),
            models.CheckConstraint(condition=~Q(reason=""), name="skip_reason_given"),
        ]

    def __str__(self):
        return f"Skip {self.pk}: task {self.task_id} by {self.labeler_id} ({self.reason})"


class TrainingRound(models.Model):
    """One turn of the loop: train a reward model, improve the policy (DPO or PPO), sample new tasks.

    At most one round per project is queued or running at a time (a partial unique constraint).
    """

    class Algo(models.TextChoices):
        DPO = "dpo", "DPO"
        PPO = "ppo", "PPO"
        SFT = "sft", "SFT on demonstrations"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    project = _project_field("rounds")
    algo = models.CharField(max_length=8, choices=Algo.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    active = models.BooleanField(default=True)  # True while running; unique among rounds
    config = models.JSONField(default=dict, blank=True)
    policy_in = models.ForeignKey("ModelVersion", on_delete=models.PROTECT, related_name="rounds_started")
    reward = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    policy_out = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    prompt_ids = models.JSONField(default=list, blank=True)  # prompts the new policy samples for
    error = models.TextField(blank=True, default="")
    # The reward-hacking guard's findings: the canary check ({"agreement", "train_agreement", "rankings",
    # "warning", "acknowledged_by", "acknowledged_at"}); None until checked.
    guard = models.JSONField(null=True, blank=True)
    # A canary warning holds the project's next auto-started round until an admin acknowledges it.
    held = models.BooleanField(default=False, db_default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(active=True), name="round_one_active"),
            models.CheckConstraint(condition=Q(algo__in=["dpo", "ppo", "sft"]), name="round_algo_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["running", "succeeded", "failed", "cancelled"]), name="round_status_valid"
            ),
        ]

    def __str__(self):
        return f"Round {self.pk} ({self.algo}, {self.status})"


class Run(models.Model):
    """One background job (sample, train a reward model, DPO, PPO, bootstrap the default policy).

    ``queued -> running -> succeeded | failed | cancelled``. A worker claims a run with a status
    compare-and-set, so a duplicate delivery of its Celery message does nothing. ``metrics`` is the
    history over time (a list of ``{"step": n, "<namespace>/<name>": value, ...}``) for the charts.
    """

    class Kind(models.TextChoices):
        BOOTSTRAP = "bootstrap", "Bootstrap the default policy"
        SAMPLE = "sample", "Sample completions"
        TRAIN_REWARD = "train_reward", "Train a reward model"
        DPO = "dpo", "DPO round"
        PPO = "ppo", "PPO round"
        SFT = "sft", "SFT on demonstrations"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    project = _project_field("runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    training_round = models.ForeignKey(
        TrainingRound, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    config = models.JSONField(default=dict, blank=True)
    # Ids of what the run reads (model versions, rankings filter) and what it made.
    inputs = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    progress = models.FloatField(default=0)
    metrics = models.JSONField(default=list, blank=True)
    log_tail = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed", "cancelled"]),
                name="run_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["bootstrap", "sample", "train_reward", "dpo", "ppo", "sft"]), name="run_kind_valid"
            ),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100), name="run_progress_range"),
        ]

    def __str__(self):
        return f"Run {self.pk} ({self.kind}, {self.status})"


class ModelVersion(models.Model):
    """A policy or reward model checkpoint on disk in Hugging Face format, with its lineage."""

    class Kind(models.TextChoices):
        POLICY = "policy", "Policy"
        REWARD = "reward", "Reward model"

    project = _project_field("model_versions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # How it was made: bootstrap, reward, dpo, ppo, or external (a checkpoint registered by path).
    algorithm = models.CharField(max_length=16)
    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version")
    path = models.CharField(max_length=500)
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["policy", "reward"]), name="model_version_kind_valid"),
        ]

    def __str__(self):
        return self.name


class IdempotencyKey(models.Model):
    """A POST to /api/v1/ sent with an ``Idempotency-Key`` header, and the response it got.

    A retry with the same key, user, method and path gets the stored response instead of running the
    service again; the unique constraint makes two racing first requests one (labeling/api/idempotency.py).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method_path = models.CharField(max_length=500)  # "POST /api/v1/tasks/7/ranking/"
    request_hash = models.CharField(max_length=64)  # sha256 of method, path with query, and body
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "method_path"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return f"Idempotency key {self.key!r} of user {self.user_id} on {self.method_path}"


# The cached agreement figures, demonstrations and review live in their own modules; importing them
# here registers them with the app.
from labeling.demonstration_models import (  # noqa: E402,F401
    Demonstration, DemonstrationAssignment, DemonstrationTask,
)
from labeling.review_models import LabelerPause, ReviewDecision  # noqa: E402,F401
from labeling.stats_models import (  # noqa: E402,F401
    LabelerDay, PairDay, RankingPair, RankingStats, TaskAgreement, TaskDay,
)

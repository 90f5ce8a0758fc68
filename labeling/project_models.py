"""Projects and their people: a project's settings, its members' roles and the invites that bring
people in (re-exported by :mod:`labeling.models`, where the rest of the data model lives).

Every row about a prompt belongs to a project; a row made without one is in the ``default``
project (:func:`default_project_id`), which the first migration of projects creates.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q

DEFAULT_PROJECT_SLUG = "default"


def default_flags() -> list[list[str]]:
    """The flags a project offers unless it sets its own (those of every install before projects)."""
    return [["instruction", "Fails to follow the instruction"], ["hallucination", "Hallucination"],
            ["harmful", "Harmful or inappropriate"], ["sexual_violent", "Sexual or violent content"],
            ["other", "Other"]]


def default_skip_reasons() -> list[list[str]]:
    return [["unclear", "The prompt is unclear"], ["expertise", "Needs expertise I lack"],
            ["broken", "Completions are broken or identical"], ["unsafe", "I don't want to read this content"],
            ["other", "Other"]]


class Project(models.Model):
    """One labeling effort: its instructions and settings, its people (:class:`Membership`), its loop.

    ``required_rankings`` and ``lease_minutes`` left empty follow ``LABELING_DEFAULT_REQUIRED_RANKINGS``
    and ``LABELING_LEASE_MINUTES``. ``open_to_all``: every signed-in user may label here without being
    a member (the ``default`` project, so an install from before projects keeps working unchanged).
    """

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, default="")  # Markdown, shown to labelers
    k_min = models.PositiveSmallIntegerField(default=2)
    k_max = models.PositiveSmallIntegerField(default=9)
    required_rankings = models.PositiveSmallIntegerField(null=True, blank=True)
    lease_minutes = models.PositiveIntegerField(null=True, blank=True)
    open_to_all = models.BooleanField(default=False)
    # Label settings. flags and skip_reasons: [[key, label], ...] (keys are what rankings store);
    # scores: whether the 1-7 score is asked for, and the words at its two ends.
    flags = models.JSONField(default=default_flags, blank=True)
    skip_reasons = models.JSONField(default=default_skip_reasons, blank=True)
    ask_scores = models.BooleanField(default=True)
    score_label_low = models.CharField(max_length=60, blank=True, default="Very poor")
    score_label_high = models.CharField(max_length=60, blank=True, default="Excellent")
    # Gold tasks: a labeler whose accuracy on at least gold_min_tasks of them falls under
    # gold_min_accuracy is shown to managers (null: no threshold).
    gold_min_accuracy = models.FloatField(null=True, blank=True)
    gold_min_tasks = models.PositiveSmallIntegerField(default=5)
    # Honeypots: the chance that a lease is a gold task the labeler has not seen (0: gold tasks are
    # ordinary queue items, ranked by required_rankings labelers). Above 0 they leave the ordinary
    # queue and every labeler meets them at this rate; a labeler under gold_min_accuracy after
    # gold_min_tasks of them is paused (LabelerPause).
    gold_rate = models.FloatField(default=0.05)
    # Demonstrations: length limits in characters.
    demonstration_min_chars = models.PositiveIntegerField(default=1)
    demonstration_max_chars = models.PositiveIntegerField(default=8000)
    # The loop. base_policy: the first policy of this project's lineage (null: the newest policy of
    # the project, else RLHF_DEFAULT_POLICY's); reward_base: the reward model's starting checkpoint
    # (blank: RLHF_REWARD_BASE_MODEL); round_defaults: {"dpo": {...}, "ppo": {...}, "reward": {...}}
    # merged over the built-in round settings; auto_start_every: start a round after this many new
    # rankings (null: ROUND_AUTO_START_EVERY, 0: never), with auto_algo (blank: ROUND_AUTO_ALGO).
    base_policy = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reward_base = models.CharField(max_length=500, blank=True, default="")
    round_defaults = models.JSONField(default=dict, blank=True)
    auto_start_every = models.PositiveIntegerField(null=True, blank=True)
    auto_algo = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(k_min__gte=2) & Q(k_max__lte=9) & Q(k_min__lte=F("k_max")),
                                   name="project_k_range"),
            models.CheckConstraint(condition=Q(required_rankings__isnull=True) |
                                   (Q(required_rankings__gte=1) & Q(required_rankings__lte=50)),
                                   name="project_required_rankings_range"),
            models.CheckConstraint(condition=Q(lease_minutes__isnull=True) | Q(lease_minutes__gte=1),
                                   name="project_lease_minutes_positive"),
            models.CheckConstraint(condition=Q(gold_min_accuracy__isnull=True) |
                                   (Q(gold_min_accuracy__gte=0) & Q(gold_min_accuracy__lte=1)),
                                   name="project_gold_min_accuracy_range"),
            models.CheckConstraint(condition=Q(auto_algo__in=["", "dpo", "ppo"]), name="project_auto_algo_valid"),
            models.CheckConstraint(condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="project_gold_rate_range"),
            models.CheckConstraint(condition=Q(demonstration_min_chars__gte=1)
                                   & Q(demonstration_min_chars__lte=F("demonstration_max_chars")),
                                   name="project_demonstration_chars_range"),
        ]

    def __str__(self):
        return self.slug

    @property
    def default_required_rankings(self) -> int:
        return self.required_rankings or settings.LABELING_DEFAULT_REQUIRED_RANKINGS

    @property
    def lease_duration_minutes(self) -> int:
        return self.lease_minutes or settings.LABELING_LEASE_MINUTES


def default_project_id() -> int:
    """The ``default`` project's id (made on first use): where a row made without a project goes."""
    # Only the id is read, so a migration of an older schema can call this too (0005 creates the row).
    found = Project.objects.filter(slug=DEFAULT_PROJECT_SLUG).values_list("pk", flat=True).first()
    if found is not None:
        return found
    project, _ = Project.objects.get_or_create(
        slug=DEFAULT_PROJECT_SLUG, defaults={"name": "Default", "open_to_all": True})
    return project.pk


class Membership(models.Model):
    """A user's role in a project: ``labeler`` ranks, ``reviewer`` also reviews, ``manager`` also edits
    the project, imports, starts rounds, exports and adds members. Staff superusers need none."""

    class Role(models.TextChoices):
        LABELER = "labeler", "Labeler"
        REVIEWER = "reviewer", "Reviewer"
        MANAGER = "manager", "Manager"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LABELER)
    # A manager left this labeler's rankings out of reward and DPO training (they still count for agreement).
    excluded_from_training = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "user"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=["labeler", "reviewer", "manager"]),
                                   name="membership_role_valid"),
        ]

    def __str__(self):
        return f"{self.user} in {self.project} ({self.role})"


class ProjectInvite(models.Model):
    """A link that brings one person into a project with one role: single use, until it expires.

    Only the SHA-256 of the link's token is stored; the token itself is shown once, to its maker."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.LABELER)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["labeler", "reviewer", "manager"]),
                                   name="invite_role_valid"),
        ]

    def __str__(self):
        return f"Invite to {self.project} as {self.role}"

"""Demonstrations: labelers write the answer to a prompt (InstructGPT's first step) or rewrite a
ranked task's best completion into a better one. A :class:`DemonstrationTask` is leased and
overlapped like a ranking task (``required_demonstrations`` different labelers, one lease each);
each accepted :class:`Demonstration` is one ``{"prompt", "completion"}`` line of SFT data.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

REVIEW_STATUSES = ["", "accepted", "rejected", "corrected"]  # "": not reviewed


class DemonstrationTask(models.Model):
    prompt = models.ForeignKey("labeling.Prompt", on_delete=models.CASCADE, related_name="demonstration_tasks")
    required_demonstrations = models.PositiveSmallIntegerField(default=1)
    # A rewrite: the completion to improve (the best of a ranked task), shown in the editor to start
    # from; the demonstration is kept beside it, linked. Null: write the answer from scratch.
    source_completion = models.ForeignKey("labeling.Completion", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="rewrites")
    task_set = models.CharField(max_length=100, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(required_demonstrations__gte=1) & Q(required_demonstrations__lte=50),
                                   name="demo_task_required_range"),
        ]

    def __str__(self):
        return f"Demonstration task {self.pk}"

    @property
    def is_rewrite(self) -> bool:
        return self.source_completion_id is not None


class DemonstrationAssignment(models.Model):
    """A lease of a demonstration task to one labeler (as :class:`labeling.models.Assignment`)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    task = models.ForeignKey(DemonstrationTask, on_delete=models.CASCADE, related_name="assignments")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="demonstration_assignments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="demo_assignment_one_per_task_labeler"),
            models.CheckConstraint(condition=Q(status__in=["active", "submitted", "skipped"]),
                                   name="demo_assignment_status_valid"),
        ]

    def __str__(self):
        return f"Demonstration lease {self.pk}: task {self.task_id} to {self.labeler_id} ({self.status})"


class Demonstration(models.Model):
    task = models.ForeignKey(DemonstrationTask, on_delete=models.CASCADE, related_name="demonstrations")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demonstrations")
    text = models.TextField()
    seconds = models.FloatField(null=True, blank=True)
    submission_id = models.CharField(max_length=64)
    # Review: "" (not reviewed), accepted, rejected (left out of training and exports) or corrected
    # (the reviewer's text, ``corrected_text``, trains in place of ``text``, which is kept).
    review_status = models.CharField(max_length=16, blank=True, default="", db_index=True)
    corrected_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="demonstration_one_per_task_labeler"),
            models.CheckConstraint(condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                                   name="demonstration_seconds_non_negative"),
            models.CheckConstraint(condition=Q(review_status__in=REVIEW_STATUSES),
                                   name="demonstration_review_status_valid"),
        ]

    def __str__(self):
        return f"Demonstration {self.pk}: task {self.task_id} by {self.labeler_id}"

    @property
    def final_text(self) -> str:
        """What trains and exports: the reviewer's correction if there is one, else the labeler's text."""
        return self.corrected_text if self.review_status == "corrected" else self.text

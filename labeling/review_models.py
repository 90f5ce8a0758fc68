"""Quality control: reviewers' decisions on rankings and demonstrations, and labelers paused by
their gold (honeypot) accuracy."""
from django.conf import settings
from django.db import models
from django.db.models import Q


class ReviewDecision(models.Model):
    """One decision by a reviewer on one ranking or one demonstration, with the item before and after.

    ``accept`` keeps it, ``reject`` (with a reason) leaves it out of training, exports and agreement
    figures, ``correct`` keeps the reviewer's version beside the original (``after``). The latest
    decision is the item's ``review_status``; every decision stays here as the history."""

    class Action(models.TextChoices):
        ACCEPT = "accept", "Accept"
        REJECT = "reject", "Reject"
        CORRECT = "correct", "Correct"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="review_decisions")
    ranking = models.ForeignKey("labeling.Ranking", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="review_decisions")
    demonstration = models.ForeignKey("labeling.Demonstration", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="review_decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField(blank=True, default="")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=["accept", "reject", "correct"]),
                                   name="review_action_valid"),
            models.CheckConstraint(condition=(Q(ranking__isnull=False) & Q(demonstration__isnull=True))
                                   | (Q(ranking__isnull=True) & Q(demonstration__isnull=False)),
                                   name="review_one_item"),
        ]

    def __str__(self):
        item = f"ranking {self.ranking_id}" if self.ranking_id else f"demonstration {self.demonstration_id}"
        return f"{self.action} of {item} by {self.reviewer_id}"


class LabelerPause(models.Model):
    """A labeler kept from new work in a project: their gold accuracy fell under the project's
    threshold (``gold_min_accuracy`` after ``gold_min_tasks`` gold tasks). A manager lifts it."""

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="pauses")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pauses")
    reason = models.TextField()
    gold_accuracy = models.FloatField(null=True, blank=True)
    gold_tasks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "labeler"], condition=Q(lifted_at__isnull=True),
                                    name="pause_one_open_per_labeler"),
        ]

    def __str__(self):
        return f"{self.labeler_id} paused in {self.project_id}"

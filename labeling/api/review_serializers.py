"""The review endpoints' queue items, request body and recorded decision, as the schema documents them.

The body is only described here: the view hands it to ``labeling.services.review``, which checks it
as the review pages do."""
from rest_framework import serializers

from labeling.models import ReviewDecision


class ReviewQueueItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["ranking", "demonstration"])
    id = serializers.IntegerField(help_text="The ranking's or the demonstration's id.")
    task_id = serializers.IntegerField(help_text="Its ranking task or demonstration task.")
    labeler = serializers.CharField()
    created_at = serializers.DateTimeField()
    prompt = serializers.CharField(help_text="The prompt; for a conversation its last user turn.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Why it is in the queue.")


class ReviewBody(serializers.Serializer):
    action = serializers.ChoiceField(choices=ReviewDecision.Action.choices)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Required to reject.")
    corrected_tiers = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()), required=False,
        help_text="To correct a ranking: every completion id of the task exactly once, best tier first.")
    corrected_text = serializers.CharField(required=False, help_text="To correct a demonstration: the new text, "
                                                                     "within the project's length limits.")


class ReviewDecisionSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True)
    before = serializers.DictField(help_text="review_status and tiers (a ranking) or text (a demonstration).")
    after = serializers.DictField(help_text="The same, after the decision.")

    class Meta:
        model = ReviewDecision
        fields = ["id", "ranking", "demonstration", "reviewer", "action", "reason", "before", "after", "created_at"]

"""The demonstration endpoints' bodies and answers, as the OpenAPI schema documents them.

As for rankings (:mod:`labeling.api.bodies`), the bodies only describe: the views hand the raw JSON
to the page's own service (:mod:`labeling.services.demonstrations`), so the API and the editor
accept and refuse the same things.
"""
from rest_framework import serializers

from labeling.api.serializers import CompletionSerializer, LabelSettingsSerializer, _messages
from labeling.submission import MAX_SECONDS


class DemonstrationBody(serializers.Serializer):
    text = serializers.CharField(help_text="The answer (Markdown); stored stripped, and its stripped length must be "
                                           "within the project's demonstration_min_chars..demonstration_max_chars.")
    submission_id = serializers.CharField(required=False, max_length=64,
                                          help_text="Client id of this submission; a repeat returns the first.")
    seconds = serializers.FloatField(required=False, min_value=0, max_value=MAX_SECONDS,
                                     help_text="Time spent writing.")


class DemonstrationSkipBody(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                   help_text="Why, in words (optional).")


class DemonstrationLimitsSerializer(serializers.Serializer):
    min_chars = serializers.IntegerField(help_text="Fewest characters of the stripped text.")
    max_chars = serializers.IntegerField(help_text="Most characters of the stripped text.")


class DemonstrationLeaseSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField(
        help_text="POST the demonstration to /api/v1/demonstrations/assignments/{assignment_id}/.")
    task_id = serializers.IntegerField()
    kind = serializers.ChoiceField(["write", "rewrite"], help_text="rewrite: improve source_completion.")
    project = LabelSettingsSerializer()
    prompt = serializers.CharField(help_text="The prompt; for a conversation its plain text (``Role: content`` turns).")
    messages = _messages()
    source_completion = CompletionSerializer(allow_null=True, help_text="A rewrite's starting text (the ranked "
                                                                        "task's best completion); null for a write.")
    limits = DemonstrationLimitsSerializer()
    expires_at = serializers.DateTimeField()


class NextDemonstrationSerializer(serializers.Serializer):
    assignment = DemonstrationLeaseSerializer(allow_null=True, help_text="null when nothing is left for this labeler.")


class DemonstrationResultSerializer(serializers.Serializer):
    demonstration_id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="false when this replayed an earlier submission_id.")


class DemonstrationSkipResultSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    status = serializers.CharField(help_text="skipped")

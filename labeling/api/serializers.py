"""What the API answers with. Request bodies are described in :mod:`labeling.api.bodies`."""
from __future__ import annotations

from rest_framework import serializers

from labeling.import_formats import MAX_TEXT_CHARS
from labeling.models import ModelVersion, Prompt, Ranking, RankingTask, Run, TrainingRound
from modeling.formats.conversation import ROLES

_TIERS = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                               help_text="Completion ids best to worst; a tier of two or more is a tie.")


class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="The field at fault, e.g. tiers or 2.prompt.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class MessageSerializer(serializers.Serializer):
    """One turn of a conversation prompt (TRL's conversational format)."""

    role = serializers.ChoiceField(ROLES, help_text="A system message may only come first; the last is a user's.")
    content = serializers.CharField(max_length=MAX_TEXT_CHARS)


def _messages(**kwargs) -> MessageSerializer:
    return MessageSerializer(many=True, allow_null=True, read_only=True, **kwargs,
                             help_text="A conversation prompt's messages, ending with a user turn; null for a "
                                       "string prompt (the prompt's text is then the prompt itself).")


class CompletionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class LabelChoiceSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="What a ranking's flags or a skip's reason stores.")
    label = serializers.CharField(help_text="What the labeler page shows.")


class LabelSettingsSerializer(serializers.Serializer):
    """The task's project as the labeler page presents it: what to flag, why to skip, whether to score."""

    slug = serializers.CharField()
    name = serializers.CharField()
    flags = LabelChoiceSerializer(many=True, help_text="The only flag keys a ranking of this task may use; "
                                                       "may be empty.")
    skip_reasons = LabelChoiceSerializer(many=True, help_text="The only reasons a skip of this task may give.")
    ask_scores = serializers.BooleanField(help_text="false: a ranking of this task must send no scores.")
    score_label_low = serializers.CharField(allow_blank=True, help_text="What score 1 means; empty: unlabelled.")
    score_label_high = serializers.CharField(allow_blank=True, help_text="What score 7 means; empty: unlabelled.")
    instructions = serializers.CharField(allow_blank=True, help_text="The labeling instructions, Markdown as written.")
    instructions_html = serializers.CharField(
        allow_blank=True, help_text="The same rendered to HTML as the labeler page shows them: sanitised (an "
                                    "allow-list of tags, no scripts, no event attributes, absolute links only).")


class LeasedTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The task id: POST its ranking to /api/v1/tasks/{id}/ranking/.")
    assignment_id = serializers.IntegerField()
    project = LabelSettingsSerializer(help_text="The task's project and its label settings; they differ from "
                                                "project to project, so read them with every task.")
    prompt = serializers.CharField(help_text="The prompt; for a conversation its plain text (``Role: content`` turns).")
    messages = _messages()
    completions = CompletionSerializer(many=True, help_text="In the order this labeler is shown them.")
    lease_expires_at = serializers.DateTimeField()


class NextTaskSerializer(serializers.Serializer):
    task = LeasedTaskSerializer(allow_null=True, help_text="null when nothing is left for this labeler.")


class RankingResultSerializer(serializers.Serializer):
    ranking_id = serializers.IntegerField()
    task_id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="false when this replayed an earlier submission_id.")


class SkipResultSerializer(serializers.Serializer):
    skip_id = serializers.IntegerField()
    task_id = serializers.IntegerField()


class BulkCreatedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="The new rows' ids, in item order.")


class PromptSerializer(serializers.ModelSerializer):
    text = serializers.CharField(help_text="The prompt; for a conversation its plain text (``Role: content`` turns).")
    messages = _messages()

    class Meta:
        model = Prompt
        fields = ["id", "text", "messages", "external_id", "metadata", "created_at"]


class TaskSerializer(serializers.ModelSerializer):
    prompt = serializers.CharField(source="prompt.text", help_text="The prompt; for a conversation its plain text.")
    messages = _messages(source="prompt.messages")
    rankings = serializers.IntegerField(source="n_rankings", help_text="Rankings stored so far.")
    status = serializers.SerializerMethodField(help_text="open: needs more rankings; complete: has enough.")
    round = serializers.SerializerMethodField(help_text="The training round whose sample step made it.")
    completions = CompletionSerializer(many=True)
    gold_tiers = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()), allow_null=True)

    class Meta:
        model = RankingTask
        fields = ["id", "prompt_id", "prompt", "messages", "task_set", "required_rankings", "rankings", "status",
                  "round", "source_run", "gold_tiers", "priority", "selection", "completions", "created_at"]
        extra_kwargs = {"priority": {"help_text": "Leased before lower priorities (active task selection: "
                                                  "rank 1 of n picks has n; other tasks 0)."},
                        "selection": {"help_text": "How active task selection picked it: method, score, rank, "
                                                   "random_pick, pool; null when it was not selected."}}

    def get_status(self, task) -> str:
        return "complete" if task.n_rankings >= task.required_rankings else "open"

    def get_round(self, task) -> int | None:
        return task.source_run.training_round_id if task.source_run else None


class RankingSerializer(serializers.ModelSerializer):
    labeler = serializers.CharField(source="labeler.username")
    tiers = _TIERS
    scores = serializers.DictField(child=serializers.IntegerField(), help_text="Completion id -> 1..7.")
    flags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    display_order = serializers.ListField(child=serializers.IntegerField(), help_text="The order the labeler saw.")
    review_status = serializers.CharField(help_text="A reviewer's latest decision: empty (not reviewed), accepted, "
                                                    "rejected or corrected.")
    corrected_tiers = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                            allow_null=True, help_text="The reviewer's order, when corrected.")

    class Meta:
        model = Ranking
        fields = ["id", "task", "labeler", "tiers", "scores", "flags", "comment", "seconds", "display_order",
                  "review_status", "corrected_tiers", "created_at"]


class ModelVersionSerializer(serializers.ModelSerializer):
    path = serializers.CharField(help_text="The checkpoint directory on disk (Hugging Face save_pretrained).")

    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "name", "algorithm", "parent", "run", "path", "config", "metrics", "created_at"]


class RunSerializer(serializers.ModelSerializer):
    latest_metrics = serializers.SerializerMethodField(help_text="The last entry of metrics, or null.")

    class Meta:
        model = Run
        fields = ["id", "kind", "status", "progress", "training_round", "config", "inputs", "outputs",
                  "latest_metrics", "error", "attempts", "cancel_requested", "heartbeat_at", "created_at",
                  "started_at", "finished_at"]

    def get_latest_metrics(self, run) -> dict | None:
        return run.metrics[-1] if run.metrics else None


class RunDetailSerializer(RunSerializer):
    metrics = serializers.ListField(child=serializers.DictField(), help_text='[{"step": n, "dpo/loss": x}, ...]')

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "metrics", "log_tail"]


class RoundSerializer(serializers.ModelSerializer):
    runs = serializers.SerializerMethodField(help_text="Its steps' run ids, oldest first.")
    prompt_ids = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = TrainingRound
        fields = ["id", "algo", "status", "config", "policy_in", "reward", "policy_out", "prompt_ids", "runs",
                  "error", "guard", "held", "created_by", "created_at", "finished_at"]

    def get_runs(self, training_round) -> list[int]:
        return sorted(run.pk for run in training_round.runs.all())

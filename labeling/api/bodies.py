"""Request bodies as the schema documents them.

These serializers only describe the bodies for the OpenAPI schema: the views hand the raw JSON to
the same validation the pages use (``labeling.submission`` through the ranking service, the import
parsers, the round form), so the API cannot accept what a page would refuse, or the reverse.
"""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.import_formats import MAX_K, MAX_TEXT_CHARS, MIN_K
from labeling.models import TrainingRound
from labeling.submission import MAX_SECONDS, SCORE_MAX, SCORE_MIN
from modeling.formats.conversation import MAX_MESSAGES, ROLES

MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {"role": {"type": "string", "enum": list(ROLES)},
                   "content": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS}},
    "required": ["role", "content"],
    "additionalProperties": False,
}


@extend_schema_field({
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS},
        {"type": "array", "items": MESSAGE_SCHEMA, "minItems": 1, "maxItems": MAX_MESSAGES},
    ],
    "description": "A string, or a conversation in TRL's format: messages ending with a user turn, a system "
                   "message only first. A bad one is refused naming it, e.g. 0.prompt[1].role.",
})
class PromptValueField(serializers.JSONField):
    """Documents a prompt: the views validate it with the import parser (``labeling.import_formats``)."""


class RankingBody(serializers.Serializer):
    tiers = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                  help_text="Every completion id of the task exactly once, best tier first.")
    scores = serializers.DictField(child=serializers.IntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX),
                                   required=False, help_text="Completion id -> score from 1 to 7. Only where the "
                                                             "task's project asks for scores (ask_scores).")
    flags = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(
            max_length=40, help_text="One of the project's flag keys.")),
        required=False, help_text="Completion id -> list of flags, each one of the task's project's flag keys.")
    comment = serializers.CharField(required=False, allow_blank=True)
    seconds = serializers.FloatField(required=False, min_value=0, max_value=MAX_SECONDS)
    submission_id = serializers.CharField(required=False, max_length=64,
                                          help_text="Client id of this submission; a repeat returns the first.")


class SkipBody(serializers.Serializer):
    reason = serializers.CharField(max_length=40, help_text="One of the task's project's skip reason keys.")
    note = serializers.CharField(required=False, allow_blank=True)


class PromptItem(serializers.Serializer):
    prompt = PromptValueField()
    id = serializers.CharField(required=False, max_length=200, help_text="Your own id; must be new.")
    metadata = serializers.DictField(required=False)


class TaskItem(PromptItem):
    completions = serializers.ListField(child=serializers.CharField(max_length=MAX_TEXT_CHARS),
                                        min_length=MIN_K, max_length=MAX_K, help_text="Distinct texts.")
    gold_ranking = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                         required=False, allow_null=True,
                                         help_text="Known-right tiers of indexes into completions.")
    required_rankings = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=50)


class RoundBody(serializers.Serializer):
    """The fields of the /rounds/ page's form; those left out take the form's initial values."""

    algo = serializers.ChoiceField(TrainingRound.Algo.values)
    beta = serializers.FloatField(required=False, allow_null=True, min_value=0.001, max_value=10,
                                  help_text="Left out or null: DPO 0.1, PPO 0.05 (KL coefficient).")
    learning_rate = serializers.FloatField(required=False, allow_null=True, min_value=1e-7, max_value=1e-2,
                                           help_text="Left out or null: each algorithm's default (3e-5 for DPO and PPO).")
    epochs = serializers.IntegerField(required=False, min_value=1, max_value=20)
    ppo_iterations = serializers.IntegerField(required=False, min_value=1, max_value=500)
    sample_prompts = serializers.IntegerField(required=False, min_value=1, max_value=2000)
    k = serializers.IntegerField(required=False, min_value=2, max_value=9)
    reward_ensemble = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=16,
                                               help_text="Reward models trained (an ensemble); null: round settings.")
    reward_aggregate = serializers.ChoiceField(["mean", "min", "uwo"], required=False,
                                               help_text="What PPO optimises of the ensemble's scores.")
    uwo_lambda = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100)
    stop_patience = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000,
                                             help_text="PPO / DPO stop rule's patience in iterations (0: off).")
    stop_spread_ratio = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1000)
    canary_share = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=0.5,
                                          help_text="Share of the new tasks set aside as canaries.")
    selection = serializers.ChoiceField(["random", "uncertainty", "variance"], required=False, allow_blank=True,
                                        help_text="Active task selection; left out or blank: the round settings' "
                                                  "(uncertainty with an ensemble reward model, else random).")
    pool_factor = serializers.FloatField(required=False, allow_null=True, min_value=1, max_value=20,
                                         help_text="Candidates sampled per new task when selecting (default 3).")

"""The figures of the /stats/ page, as the API answers them: agreement, and flag rates and mean
scores by model version."""
from rest_framework import serializers

_RATE = {"allow_null": True}


class TotalsSerializer(serializers.Serializer):
    rankings = serializers.IntegerField()
    labelers = serializers.IntegerField()
    tasks_ranked = serializers.IntegerField()
    tasks_multi = serializers.IntegerField(help_text="Tasks with two or more rankings.")
    skips = serializers.IntegerField()
    pairs_compared = serializers.IntegerField()
    agreement = serializers.FloatField(**_RATE, help_text="Pairwise agreement of labelers (ties left out).")
    tau_b = serializers.FloatField(**_RATE, help_text="Mean Kendall tau-b of two labelers' rankings.")
    alpha = serializers.FloatField(**_RATE, help_text="Krippendorff's ordinal alpha.")


class LabelerRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rankings = serializers.IntegerField()
    skips = serializers.IntegerField()
    skip_rate = serializers.FloatField(**_RATE)
    pair_agreement = serializers.FloatField(**_RATE)
    pair_compared = serializers.IntegerField()
    consensus = serializers.FloatField(**_RATE)
    consensus_compared = serializers.IntegerField()
    gold = serializers.FloatField(**_RATE)
    gold_compared = serializers.IntegerField()
    median_seconds = serializers.FloatField(**_RATE)
    display_order = serializers.FloatField(**_RATE, help_text="Share of rankings submitted exactly as shown.")
    first_shown = serializers.FloatField(**_RATE, help_text="First-shown wins divided by chance.")
    first_shown_rate = serializers.FloatField(**_RATE)
    reward_model = serializers.FloatField(**_RATE, help_text="The newest reward model's agreement with them.")
    flags = serializers.ListField(child=serializers.CharField(), help_text="Figures where they are an outlier.")


class RoundRowSerializer(serializers.Serializer):
    round = serializers.IntegerField(allow_null=True, help_text="null: tasks of no round.")
    rankings = serializers.IntegerField()
    pairs_compared = serializers.IntegerField()
    agreement = serializers.FloatField(**_RATE)
    tau_b = serializers.FloatField(**_RATE)
    alpha = serializers.FloatField(**_RATE)


class WeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Its Monday.")
    agreement = serializers.FloatField(**_RATE)
    pairs_compared = serializers.IntegerField()


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    rankings = serializers.IntegerField()


class LowTaskSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    prompt = serializers.CharField()
    n_rankings = serializers.IntegerField()
    agreement = serializers.FloatField(**_RATE)
    compared = serializers.IntegerField()
    tau_b = serializers.FloatField(**_RATE)


class FlagSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="What rankings store.")
    label = serializers.CharField()


class VersionLabelsSerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True, help_text="A model version's id; null: imported completions.")
    name = serializers.CharField()
    ranked = serializers.IntegerField(help_text="Its completions as ranked: one per ranking of one.")
    scored = serializers.IntegerField(help_text="Of those, how many were given a 1-7 score.")
    mean_score = serializers.FloatField(**_RATE)
    flag_counts = serializers.DictField(child=serializers.IntegerField(), help_text="Flag key -> judgements with it.")
    flag_rates = serializers.DictField(child=serializers.FloatField(**_RATE), help_text="Flag key -> counts / ranked.")


class ByVersionSerializer(serializers.Serializer):
    flags = FlagSerializer(many=True, help_text="The project's flags, in its order.")
    versions = VersionLabelsSerializer(many=True, help_text="Imported first, then model versions by creation.")


class AgreementSerializer(serializers.Serializer):
    pending_tasks = serializers.IntegerField(help_text="Tasks with rankings not yet counted (a worker counts them).")
    totals = TotalsSerializer()
    labelers = LabelerRowSerializer(many=True)
    rounds = RoundRowSerializer(many=True)
    weeks = WeekSerializer(many=True)
    throughput = DaySerializer(many=True)
    lowest_tasks = LowTaskSerializer(many=True)
    by_version = ByVersionSerializer(help_text="What labelers said about each policy version's completions: "
                                               "flag rates and mean scores.")

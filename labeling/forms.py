"""Forms for admin pages: they parse and bound the input, services decide."""
from django import forms

from labeling.models import TrainingRound


class RoundStartForm(forms.Form):
    algo = forms.ChoiceField(choices=TrainingRound.Algo.choices, initial="dpo", widget=forms.RadioSelect,
                             help_text="DPO trains on the rankings directly; PPO against the new reward model; "
                                       "SFT fine-tunes the base policy on the project's demonstrations.")
    # Blank beta and learning rate: the chosen algorithm's defaults (labeling.services.rounds.DEFAULT_CONFIG),
    # which differ between DPO and PPO, so one shared initial value would be wrong for one of them.
    beta = forms.FloatField(min_value=0.001, max_value=10, required=False,
                            help_text="DPO beta, or PPO's KL coefficient. Blank: DPO 0.1, PPO 0.05.")
    learning_rate = forms.FloatField(min_value=1e-7, max_value=1e-2, required=False,
                                     help_text="Blank: each algorithm's default (3e-5 for DPO and PPO).")
    epochs = forms.IntegerField(min_value=1, max_value=20, initial=2, help_text="Reward-model, DPO and SFT epochs.")
    ppo_iterations = forms.IntegerField(min_value=1, max_value=500, initial=10)
    sample_prompts = forms.IntegerField(min_value=1, max_value=2000, initial=40,
                                        help_text="Prompts the new policy samples for (fewest tasks first).")
    k = forms.IntegerField(min_value=2, max_value=9, initial=4, help_text="Completions per new task.")
    lora_r = forms.IntegerField(min_value=0, max_value=256, initial=0, required=False,
                                help_text="LoRA rank for the policy step (peft); 0 or blank: full fine-tuning. "
                                          "A LoRA version is an adapter over its base; the next round continues it.")
    # The reward-hacking guard (labeling/services/guard.py); blank: the project's round settings.
    reward_ensemble = forms.IntegerField(min_value=1, max_value=16, required=False,
                                         help_text="Reward models trained (an ensemble); 1: one model.")
    reward_aggregate = forms.ChoiceField(
        choices=[("mean", "mean"), ("min", "min (worst case)"), ("uwo", "uwo (mean - lambda x spread)")],
        required=False, error_messages={"invalid_choice": "Unknown reward aggregate %(value)s: choose mean, min or uwo."},
        help_text="What PPO optimises of the ensemble's scores (one model: its score).")
    uwo_lambda = forms.FloatField(min_value=0, max_value=100, required=False,
                                  help_text="PPO uwo: weight of the members' spread.")
    stop_patience = forms.IntegerField(min_value=0, max_value=1000, required=False,
                                       help_text="Stop PPO / DPO when the conservative reward has not improved for "
                                                 "this many iterations (0: off; blank: each algorithm's round setting).")
    stop_spread_ratio = forms.FloatField(min_value=0, max_value=1000, required=False,
                                         help_text="Stop PPO when the spread on rollouts exceeds this multiple of "
                                                   "its start (0: off).")
    canary_share = forms.FloatField(min_value=0, max_value=0.5, required=False,
                                    help_text="Share of the new tasks set aside as canaries (never trained on).")
    # Active task selection (labeling/services/task_selection.py); blank: the project's round settings.
    selection = forms.ChoiceField(
        choices=[("", "round setting (uncertainty with an ensemble, else random)"), ("random", "random"),
                 ("uncertainty", "uncertainty (ensemble disagreement)"), ("variance", "variance (ensemble spread)")],
        required=False,
        error_messages={"invalid_choice": "Unknown task selection %(value)s: choose random, uncertainty or variance."},
        help_text="Which sampled candidates become the new tasks; random: the prompts above, as they come.")
    pool_factor = forms.FloatField(min_value=1, max_value=20, required=False,
                                   help_text="Candidates sampled per new task when selecting (default 3).")

    @staticmethod
    def initial_from(merged: dict) -> dict:
        """The form's starting values from a project's round settings (``services.rounds.round_settings``)."""
        ppo = merged["ppo"]
        return {"epochs": merged["reward"].get("epochs", 2), "ppo_iterations": ppo.get("iterations", 10),
                "k": merged["sample"].get("k", 4), "lora_r": merged["dpo"].get("lora_r") or 0,
                "reward_ensemble": merged["reward"].get("ensemble", 1),
                "reward_aggregate": ppo.get("reward_aggregate", "mean"), "uwo_lambda": ppo.get("uwo_lambda"),
                "stop_spread_ratio": ppo.get("stop_spread_ratio"),
                "canary_share": merged["sample"].get("canary_share"),
                "selection": merged["sample"].get("selection", ""), "pool_factor": merged["sample"].get("pool_factor")}

    def round_config(self) -> dict:
        data = self.cleaned_data
        policy = {"dpo": {"beta": data["beta"], "learning_rate": data["learning_rate"], "epochs": data["epochs"]},
                  "ppo": {"kl_beta": data["beta"], "learning_rate": data["learning_rate"],
                          "iterations": data["ppo_iterations"]},
                  "sft": {"learning_rate": data["learning_rate"], "epochs": data["epochs"]}}[data["algo"]]
        policy["lora_r"] = data.get("lora_r") or None
        if data["algo"] in ("dpo", "ppo"):
            policy["stop_patience"] = data.get("stop_patience")
        if data["algo"] == "ppo":
            policy.update({"reward_aggregate": data.get("reward_aggregate") or None, "uwo_lambda": data.get("uwo_lambda"),
                           "stop_spread_ratio": data.get("stop_spread_ratio")})
        policy = {name: value for name, value in policy.items() if value is not None}
        reward = {"epochs": data["epochs"], "ensemble": data.get("reward_ensemble")}
        sample = {"k": data["k"], "canary_share": data.get("canary_share"), "selection": data.get("selection") or None,
                  "pool_factor": data.get("pool_factor")}
        return {"reward": {name: value for name, value in reward.items() if value is not None}, data["algo"]: policy,
                "sample": {name: value for name, value in sample.items() if value is not None}}

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

    @staticmethod
    def initial_from(merged: dict) -> dict:
        """The form's starting values from a project's round settings (``services.rounds.round_settings``)."""
        return {"epochs": merged["reward"].get("epochs", 2), "ppo_iterations": merged["ppo"].get("iterations", 10),
                "k": merged["sample"].get("k", 4), "lora_r": merged["dpo"].get("lora_r") or 0}

    def round_config(self) -> dict:
        data = self.cleaned_data
        policy = {"dpo": {"beta": data["beta"], "learning_rate": data["learning_rate"], "epochs": data["epochs"]},
                  "ppo": {"kl_beta": data["beta"], "learning_rate": data["learning_rate"],
                          "iterations": data["ppo_iterations"]},
                  "sft": {"learning_rate": data["learning_rate"], "epochs": data["epochs"]}}[data["algo"]]
        policy["lora_r"] = data.get("lora_r") or None
        policy = {name: value for name, value in policy.items() if value is not None}
        return {"reward": {"epochs": data["epochs"]}, data["algo"]: policy, "sample": {"k": data["k"]}}

"""Forms of the project pages: they parse the input into the services' types; the services decide.

Fields here check types only. Flags and skip reasons are edited as lines ``key: label``; a line
without a colon is refused here, everything else (slug-like unique keys, at least one skip reason,
every range) by the services (:func:`labeling.services.project_settings.project_settings_validate`).
"""
from django import forms

from labeling.models import Membership, ModelVersion, Project, TrainingRound, default_project_id


def labels_as_lines(pairs) -> str:
    return "\n".join(f"{key}: {label}" for key, label in pairs or [])


class LabelLinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 6})

    def to_python(self, value):
        pairs = []
        for number, line in enumerate(super().to_python(value).splitlines(), start=1):
            if not line.strip():
                continue
            key, colon, label = line.partition(":")
            if not colon:
                raise forms.ValidationError(f"Line {number} needs the form key: label.")
            pairs.append([key.strip(), label.strip()])
        return pairs


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    instructions = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 10}),
                                   help_text="Markdown, shown to labelers above every task.")
    k_min = forms.IntegerField(label="Fewest completions per task (K)")
    k_max = forms.IntegerField(label="Most completions per task (K)")
    required_rankings = forms.IntegerField(required=False, help_text="Labelers per task. Blank: the site default.")
    lease_minutes = forms.IntegerField(required=False, help_text="How long a labeler holds a task, in minutes. "
                                                                 "Blank: the site default.")
    flags = LabelLinesField(required=False, help_text="One per line, key: label. Keys are stored with rankings.")
    skip_reasons = LabelLinesField(help_text="One per line, key: label. At least one.")
    ask_scores = forms.BooleanField(required=False, label="Ask for a 1-7 score per completion")
    score_label_low = forms.CharField(required=False, max_length=60, label="Score 1 means")
    score_label_high = forms.CharField(required=False, max_length=60, label="Score 7 means")
    gold_min_accuracy = forms.FloatField(required=False,
                                         help_text="Pause labelers under this gold accuracy (0-1) from new "
                                                   "tasks until a manager lifts it. Blank: none.")
    gold_min_tasks = forms.IntegerField(help_text="Gold tasks a labeler must have ranked before that applies.")
    gold_rate = forms.FloatField(label="Honeypot rate",
                                 help_text="Share of leases that are gold tasks, served to every labeler once "
                                           "each (0-1, 0.05 = 1 in 20). 0: gold tasks are ordinary tasks.")
    auto_start_every = forms.IntegerField(required=False, help_text="Start a round after this many new rankings; "
                                                                    "0: never. Blank: the site default.")
    auto_algo = forms.ChoiceField(required=False, choices=[("", "Site default"), *TrainingRound.Algo.choices])
    reward_base = forms.CharField(required=False, max_length=500,
                                  help_text="Checkpoint reward models start from. Blank: the site default.")
    round_defaults = forms.JSONField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                     help_text='Round settings under the form\'s, e.g. {"dpo": {"beta": 0.2}}. '
                                               "Sections: reward, dpo, ppo, sample.")

    base_policy = forms.ModelChoiceField(queryset=ModelVersion.objects.none(), required=False,
                                         empty_label="None: the project's newest policy, else default's first",
                                         help_text="The first policy of this project's lineage.")

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base_policy"].queryset = ModelVersion.objects.filter(
            kind=ModelVersion.Kind.POLICY, project_id__in=[project.pk, default_project_id()])

    def clean_round_defaults(self):
        return self.cleaned_data["round_defaults"] or {}

    @classmethod
    def initial_for(cls, project: Project) -> dict:
        initial = {name: getattr(project, name) for name in cls.base_fields}
        initial["base_policy"] = project.base_policy_id
        initial.update(flags=labels_as_lines(project.flags), skip_reasons=labels_as_lines(project.skip_reasons))
        return initial


class ProjectCreateForm(forms.Form):
    slug = forms.SlugField(max_length=50, help_text="Letters, digits, - and _; used in URLs and commands.")
    name = forms.CharField(max_length=200)


class MemberRoleForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.LABELER)


class MemberRemoveForm(forms.Form):
    username = forms.CharField(max_length=150)


class InviteCreateForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.LABELER)
    days = forms.IntegerField(label="Valid for (days, 1-30)", initial=7)


class InviteSignupForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    email = forms.EmailField(required=False, max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}),
                             help_text="Optional: where a password reset link is sent.")
    password1 = forms.CharField(label="Password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


def add_refusal(form: forms.Form, refusal) -> None:
    """A service's RejectedInput shown on ``form``: under the field it names, else above the form."""
    form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)

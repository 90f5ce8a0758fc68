import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from labeling.models import Completion, Run, TrainingRound
from labeling.services.model_versions import model_version_register
from tests.factories import make_task


@pytest.fixture
def policy(db, tiny_policy_dir):
    return model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)


FORM = {"algo": "dpo", "beta": 0.1, "learning_rate": 5e-5, "epochs": 1, "ppo_iterations": 2, "sample_prompts": 5, "k": 4}


@pytest.mark.parametrize("name", ["rounds", "model-versions-compare"])
def test_round_pages_are_staff_only(client, labeler, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(labeler)
    assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("rounds"), FORM).status_code == 403
    assert not TrainingRound.objects.exists()


def test_starting_a_round_with_too_few_rankings_shows_why_and_starts_nothing(client, admin, policy):
    client.force_login(admin)
    response = client.post(reverse("rounds"), FORM)
    assert response.status_code == 400 and b"new rankings since the last round" in response.content
    assert not TrainingRound.objects.exists() and not Run.objects.exists()


def test_a_bad_form_is_refused(client, admin, policy):
    client.force_login(admin)
    response = client.post(reverse("rounds"), {**FORM, "k": 12, "algo": "sft"})
    assert response.status_code == 400 and not TrainingRound.objects.exists()


def test_an_admin_starts_a_round_and_watches_it(client, admin, policy, settings):
    settings.ROUND_MIN_NEW_RANKINGS = 0
    make_task()
    client.force_login(admin)
    response = client.post(reverse("rounds"), FORM)
    training_round = TrainingRound.objects.get()
    assert response.status_code == 302 and response.url == reverse("round-detail", args=[training_round.pk])
    assert training_round.runs.get().kind == "train_reward"
    page = client.get(response.url)
    assert page.status_code == 200 and b"Train a reward model" in page.content
    assert client.get(reverse("rounds")).status_code == 200


def test_compare_shows_both_versions_samples_escaped(client, admin, policy, tiny_policy_dir):
    other = model_version_register(kind="policy", algorithm="dpo", path=tiny_policy_dir, parent=policy)
    task = make_task(k=2, prompt_text="<i>p</i>", texts=["x", "y"])
    second = make_task(k=2, texts=["<script>bad()</script>", "z"])
    second.prompt = task.prompt
    second.save()
    Completion.objects.filter(task=task).update(model_version=policy, source="model")
    Completion.objects.filter(task=second).update(model_version=other, source="model")
    client.force_login(admin)
    response = client.get(reverse("model-versions-compare"), {"a": policy.pk, "b": other.pk})
    body = response.content.decode()
    assert response.status_code == 200 and "&lt;script&gt;bad()" in body and "<script>bad()" not in body
    assert client.get(reverse("model-versions-compare"), {"a": "x", "b": "1"}).status_code == 400


def test_run_round_command_refuses_with_one_clear_line(policy):
    with pytest.raises(CommandError, match="new rankings"):
        call_command("run_round", "--algo", "dpo")
    assert not TrainingRound.objects.exists()


def test_run_round_command_starts_a_round(policy):
    make_task()
    call_command("run_round", "--algo", "ppo", "--min-rankings", "0")
    assert TrainingRound.objects.get().algo == "ppo"


@pytest.mark.parametrize("algo, section, beta_key, beta, learning_rate", [
    ("dpo", "dpo", "beta", 0.1, 3e-5), ("ppo", "ppo", "kl_beta", 0.05, 3e-5)])
def test_blank_beta_and_learning_rate_take_the_algorithms_defaults(algo, section, beta_key, beta, learning_rate):
    from labeling.forms import RoundStartForm
    from labeling.services.rounds import _merged

    form = RoundStartForm(data={**FORM, "algo": algo, "beta": "", "learning_rate": ""})
    assert form.is_valid(), form.errors
    merged = _merged(form.round_config())[section]
    assert (merged[beta_key], merged["learning_rate"]) == (beta, learning_rate)
    chosen = RoundStartForm(data={**FORM, "algo": algo, "beta": 0.3, "learning_rate": 2e-5})
    assert chosen.is_valid() and _merged(chosen.round_config())[section][beta_key] == 0.3


@pytest.mark.parametrize("algo", ["dpo", "ppo"])
def test_the_round_form_chooses_lora_and_refuses_a_bad_rank(algo):
    from labeling.forms import RoundStartForm

    form = RoundStartForm(data={**FORM, "algo": algo, "lora_r": 8})
    assert form.is_valid(), form.errors
    assert form.round_config()[algo]["lora_r"] == 8
    plain = RoundStartForm(data={**FORM, "algo": algo, "lora_r": ""})
    assert plain.is_valid() and "lora_r" not in plain.round_config()[algo]
    bad = RoundStartForm(data={**FORM, "algo": algo, "lora_r": -1})
    assert not bad.is_valid() and "lora_r" in bad.errors

"""The reward-hacking guard on the pages and in the API: the run page's guard charts and stop note (history
written through the real reporter), the canary figures and warning on the round pages and in the API, the
acknowledgement (managers only), and guard settings the start form and API refuse."""
from html import escape

import pytest
from django.urls import reverse

from labeling.jobs.reporter import RunReporter
from labeling.models import Membership, Project, Run, TrainingRound, default_project_id
from labeling.services.model_versions import model_version_register
from labeling.services.runs import run_claim, run_enqueue
from tests.factories import make_task
from tests.labeling.api.conftest import api, assert_error  # noqa: F401
from tests.labeling.test_rounds import _runs_in_tmp, policy  # noqa: F401

WARNING = "The reward model agrees with labelers on 41% of pairs of the new policy's canary samples"
STOP = {"guard/stopped": True, "guard/stop_iteration": 4, "guard/stop_reason": "conservative reward flat while proxy rose",
        "guard/best_iteration": 2, "guard/published": "best"}


def _run_with_history(kind: str, rows: list[dict], policy, final: dict | None) -> Run:
    run = run_claim(run_id=run_enqueue(kind=kind, inputs={"policy_version": policy.pk}).pk)
    reporter = RunReporter(run, min_interval=0)
    for step, metrics in enumerate(rows, start=1):
        reporter(step, len(rows), metrics)
    if final is not None:  # what the job registers: the run's version carries the final metrics
        model_version_register(kind="policy", algorithm=kind, path=policy.path, run=run, parent=policy, metrics=final)
    return run


PPO_ROWS = [{"ppo/proxy_reward": 0.1 * i, "ppo/conservative_reward": min(0.1 * i, 0.2) - 0.01 * i,
             "ppo/spread": 0.05 * i, "ppo/kl": 0.02 * i * i, "ppo/gold": 0.1 - 0.01 * (i - 2) ** 2}
            for i in range(1, 5)]


def test_a_ppo_run_page_draws_reward_and_spread_against_sqrt_kl_and_marks_the_stop(client, admin, policy):  # noqa: F811
    run = _run_with_history("ppo", PPO_ROWS, policy, STOP)
    client.force_login(admin)
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "Reward against sqrt(KL)" in page and "Spread against sqrt(KL)" in page and "sqrt(KL to the reference)" in page
    assert all(label in page for label in (">proxy<", ">conservative<", ">gold<", ">ensemble spread on rollouts<"))
    assert "Stopped early at iteration 4: conservative reward flat while proxy rose." in page
    assert "Kept: the policy of iteration 2" in page
    assert page.count('class="chart-marker"') == 4  # stop and kept, on both charts
    assert "stopped: conservative reward flat while proxy rose" in page and "kept: iteration 2" in page
    live = client.get(reverse("run-status", args=[run.pk])).json()
    assert "Reward against sqrt(KL)" in live["charts"][0] and "chart-marker" in live["charts"][0]


def test_a_ppo_run_without_gold_or_a_stop_says_the_rule_did_not_fire(client, admin, policy):  # noqa: F811
    rows = [{k: v for k, v in row.items() if k != "ppo/gold"} for row in PPO_ROWS]
    run = _run_with_history("ppo", rows, policy, {"guard/stopped": False, "guard/stop_iteration": 0,
                                                  "guard/stop_reason": "", "guard/best_iteration": 3,
                                                  "guard/published": "last"})
    client.force_login(admin)
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "The stop rule did not fire" in page and ">gold<" not in page and "chart-marker" not in page
    plain = _run_with_history("ppo", [{"ppo/reward": 1.0, "ppo/kl": 0.1}], policy, None)
    page = client.get(reverse("run-detail", args=[plain.pk])).content.decode()
    assert "Reward-hacking guard" not in page and "KL to the reference" in page


def test_a_dpo_run_page_marks_its_stop_on_its_charts(client, admin, policy):  # noqa: F811
    rows = [{"dpo/loss": 0.7 - 0.05 * i, "dpo/margin": 0.1 * i, "dpo/accuracy": 0.5 + 0.05 * i} for i in range(6)]
    run = _run_with_history("dpo", rows, policy, {**STOP, "guard/stop_reason": "held-out accuracy flat"})
    client.force_login(admin)
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "Stopped early at iteration 4: held-out accuracy flat." in page and "chart-marker" in page


@pytest.fixture
def held_round(policy):  # noqa: F811
    return TrainingRound.objects.create(
        algo="ppo", status="succeeded", active=False, policy_in=policy, reward=policy, held=True,
        guard={"agreement": 0.41, "train_agreement": 0.83, "rankings": 24, "pairs": 70, "warning": WARNING,
               "threshold": 0.1, "min_rankings": 20, "checked_at": "2026-12-06T02:00:00+00:00"})


@pytest.fixture
def reviewer(labeler):
    Membership.objects.create(project=Project.objects.get(pk=default_project_id()), user=labeler,
                              role=Membership.Role.REVIEWER)
    return labeler


def test_round_pages_show_the_canary_figures_and_the_warning(client, admin, reviewer, held_round):
    client.force_login(reviewer)
    detail = client.get(reverse("round-detail", args=[held_round.pk])).content.decode()
    assert "0.410" in detail and "0.830" in detail and "24 rankings" in detail and escape(WARNING) in detail
    assert "Auto-started rounds of this project are held" in detail and "Acknowledge" not in detail
    listing = client.get(reverse("rounds")).content.decode()
    assert escape(WARNING) in listing and "0.41 vs 0.83 (24)" in listing
    client.force_login(admin)
    assert "Acknowledge and resume auto-start" in client.get(reverse("round-detail", args=[held_round.pk])).content.decode()


def test_only_a_manager_acknowledges_on_the_page(client, admin, reviewer, held_round):
    url = reverse("round-acknowledge", args=[held_round.pk])
    client.force_login(reviewer)
    assert client.post(url).status_code == 403
    held_round.refresh_from_db()
    assert held_round.held and "acknowledged_by" not in held_round.guard
    client.force_login(admin)
    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("round-detail", args=[held_round.pk])
    held_round.refresh_from_db()
    assert not held_round.held and held_round.guard["acknowledged_by"] == "root"
    page = client.get(response.url).content.decode()
    assert "Acknowledged by root" in page and "are held" not in page


def test_the_api_shows_the_guard_and_only_a_manager_acknowledges(api, admin, reviewer, held_round):  # noqa: F811
    body = api(reviewer).get(f"/api/v1/rounds/{held_round.pk}/").json()
    assert body["held"] is True and body["guard"]["warning"] == WARNING and body["guard"]["agreement"] == 0.41
    url = f"/api/v1/rounds/{held_round.pk}/acknowledge/"
    assert api(reviewer).post(url).status_code == 403
    assert TrainingRound.objects.get().held
    body = api(admin).post(url).json()
    assert body["held"] is False and body["guard"]["acknowledged_by"] == "root"
    assert_error(api(admin).post("/api/v1/rounds/999999/acknowledge/"), 404, "round", "no such")
    TrainingRound.objects.update(guard=None)
    assert_error(api(admin).post(url), 409, "round", "no canary warning")


@pytest.mark.parametrize("field, value, words", [
    ("reward_aggregate", "max", "unknown reward aggregate"),
    ("uwo_lambda", -1, "greater than or equal to 0"),
    ("stop_patience", -1, "greater than or equal to 0"),
    ("stop_spread_ratio", -0.5, "greater than or equal to 0"),
    ("reward_ensemble", 0, "greater than or equal to 1"),
    ("canary_share", 0.9, "less than or equal to 0.5"),
])
def test_bad_guard_settings_are_refused_by_the_api_and_the_page(api, client, admin, policy, settings,  # noqa: F811
                                                                field, value, words):
    settings.ROUND_MIN_NEW_RANKINGS = 0
    make_task()
    assert_error(api(admin).post("/api/v1/rounds/", {"algo": "ppo", field: value}, format="json"), 400, field, words)
    client.force_login(admin)
    form = {"algo": "ppo", "epochs": 1, "ppo_iterations": 2, "sample_prompts": 5, "k": 4, field: value}
    response = client.post(reverse("rounds"), form)
    assert response.status_code == 400 and words in response.content.decode().lower()
    assert not TrainingRound.objects.exists() and not Run.objects.exists()


def test_the_api_starts_a_round_with_the_guard_settings_it_was_given(api, admin, policy, settings):  # noqa: F811
    settings.ROUND_MIN_NEW_RANKINGS = 0
    make_task()
    body = {"algo": "ppo", "reward_ensemble": 3, "reward_aggregate": "min", "uwo_lambda": 0.5, "stop_patience": 2,
            "stop_spread_ratio": 2.0, "canary_share": 0.1}
    response = api(admin).post("/api/v1/rounds/", body, format="json")
    assert response.status_code == 201, response.json()
    config = TrainingRound.objects.get().config
    assert config["reward"]["ensemble"] == 3 and config["sample"]["canary_share"] == 0.1
    assert {k: config["ppo"][k] for k in ("reward_aggregate", "uwo_lambda", "stop_patience", "stop_spread_ratio")} == \
        {"reward_aggregate": "min", "uwo_lambda": 0.5, "stop_patience": 2, "stop_spread_ratio": 2.0}
    assert Run.objects.get().kind == "train_reward"

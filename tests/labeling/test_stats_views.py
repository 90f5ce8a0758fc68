"""/stats/: who may see it, what an empty project shows, sorting, escaping and the CSV export."""
import csv
import io

import pytest
from django.urls import reverse

from labeling.models import ModelVersion, Ranking, RankingTask
from labeling.services.simulated_rankings import SimulationSpec, rankings_simulate
from labeling.csv_cells import csv_cell
from tests.factories import UserFactory
from tests.labeling.test_stats_selectors import round_with_tasks

PAGES = [("stats", []), ("stats-labelers-csv", []), ("stats-task", [1])]


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def populated(db):
    spec = SimulationSpec(tasks=30, labelers=3, random_labelers=1, per_task=4, skip_rate=0.0, seed=3)
    return rankings_simulate(spec=spec)


@pytest.mark.parametrize("name,args", PAGES)
def test_anonymous_goes_to_login(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name,args", PAGES)
def test_a_labeler_is_refused(labeler_client, task_factory, name, args):
    task = task_factory()
    response = labeler_client.get(reverse(name, args=[task.pk] if args else []))
    assert response.status_code == 403


def test_an_empty_project_shows_a_page(admin_client):
    response = admin_client.get(reverse("stats"))
    assert response.status_code == 200
    assert b"No rankings yet" in response.content
    response = admin_client.get(reverse("stats-labelers-csv"))
    assert response.status_code == 200
    assert response.content.decode().splitlines()[0].startswith("name,rankings,skips")


def test_dashboard_counts_new_rankings_and_flags_the_random_labeler(admin_client, populated):
    response = admin_client.get(reverse("stats"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unlike the others: <b>random-sim-1</b>" in page
    assert page.count("<svg") == 4  # throughput, agreement by week, heat map, flag rates by version
    assert f"<b>{populated['rankings']}</b>" in page
    low = response.context["lowest"][0]
    detail = admin_client.get(reverse("stats-task", args=[low["task_id"]]))
    assert detail.status_code == 200
    assert detail.content.decode().count('class="ranking"') == Ranking.objects.filter(task_id=low["task_id"]).count()


def test_labeler_table_sorts_by_any_column(admin_client, populated):
    response = admin_client.get(reverse("stats"), {"sort": "pair_agreement", "dir": "desc"})
    names = [row["name"] for row in response.context["rows"]]
    assert names[-1] == "random-sim-1"
    response = admin_client.get(reverse("stats"), {"sort": "pair_agreement"})
    assert [row["name"] for row in response.context["rows"]][0] == "random-sim-1"
    assert admin_client.get(reverse("stats"), {"sort": "no_such_column"}).status_code == 200


def test_a_bad_date_range_is_reported_not_an_error(admin_client, populated):
    response = admin_client.get(reverse("stats"), {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 200
    assert "must not be after" in response.content.decode()
    assert admin_client.get(reverse("stats"), {"since": "not a date"}).status_code == 200


def test_labels_are_escaped_in_the_table_and_the_heat_map(admin_client, task_factory, labeler):
    evil = UserFactory(username="<script>x</script>")
    task = task_factory(k=3)
    ids = list(task.completions.values_list("pk", flat=True))
    for user in (evil, labeler):
        Ranking.objects.create(task=task, labeler=user, tiers=[[i] for i in ids], display_order=ids,
                               submission_id=f"s{user.pk}")
    page = admin_client.get(reverse("stats")).content.decode()
    assert "<script>x" not in page
    assert page.count("&lt;script&gt;x&lt;/script&gt;") >= 3  # table row, heat map row and column


def test_csv_neutralises_formula_cells(admin_client, task_factory, labeler):
    names = ["=HYPERLINK(1)", "+1+1", "-2", "@SUM(A1)"]
    task = task_factory(k=2, required_rankings=5)
    ids = list(task.completions.values_list("pk", flat=True))
    for name in names:
        Ranking.objects.create(task=task, labeler=UserFactory(username=name), tiers=[[ids[0]], [ids[1]]],
                               display_order=ids, submission_id=name)
    response = admin_client.get(reverse("stats-labelers-csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["name"] for row in rows) == sorted("'" + name for name in names)
    assert all(float(row["pair_agreement"]) == 1.0 for row in rows)


def test_csv_cell():
    assert csv_cell("=1+2") == "'=1+2"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell("alice") == "alice"
    assert csv_cell(0.5) == "0.5000"
    assert csv_cell(None) == ""


def test_a_large_backlog_goes_to_the_worker(admin_client, populated, monkeypatch):
    from django.core.cache import cache

    from labeling import tasks
    from labeling.services import stats as service

    sent = []
    monkeypatch.setattr(service, "SYNC_REFRESH_TASKS", 5)
    monkeypatch.setattr(tasks.stats_refresh, "apply_async", lambda **kwargs: sent.append(kwargs))
    cache.delete("labeling:stats-refresh-enqueued")
    page = admin_client.get(reverse("stats")).content.decode()
    assert len(sent) == 1
    assert "30 tasks with new rankings are still being counted" in page
    assert tasks.stats_refresh() == populated["rankings"]  # what the worker runs: the task called directly
    assert "still being counted" not in admin_client.get(reverse("stats")).content.decode()


def _rank_all(tasks, users, order=(0, 1, 2)):
    for task in tasks:
        ids = list(task.completions.order_by("id").values_list("pk", flat=True))
        for user in users:
            Ranking.objects.create(task=task, labeler=user, tiers=[[ids[i]] for i in order], display_order=ids,
                                   submission_id=f"{task.pk}-{user.pk}")


def test_the_page_filters_by_round_and_task_set(admin_client, labeler, other_labeler, task_factory):
    first, first_tasks = round_with_tasks(2)
    second, second_tasks = round_with_tasks(1)
    imported = [task_factory(k=3) for _ in range(3)]
    RankingTask.objects.filter(pk__in=[t.pk for t in imported]).update(task_set="batch <1>.jsonl")
    _rank_all(first_tasks + imported, [labeler, other_labeler])
    _rank_all(second_tasks, [labeler])
    everything = admin_client.get(reverse("stats"))
    page = everything.content.decode()
    assert everything.context["totals"]["rankings"] == 11
    assert f'<option value="{first.pk}">{first}</option>' in page
    assert '<option value="batch &lt;1&gt;.jsonl">batch &lt;1&gt;.jsonl</option>' in page
    assert "Tasks of no round" in page and f"?round={first.pk}" in page
    assert everything.context["round_chart"] is None  # one round with pairs: nothing to draw a line through

    by_round = admin_client.get(reverse("stats"), {"round": first.pk})
    assert by_round.context["totals"]["rankings"] == 4
    assert [r["round"] for r in by_round.context["rounds"]] == [first]
    assert "round=" in by_round.context["filter_query"]
    by_set = admin_client.get(reverse("stats"), {"task_set": "batch <1>.jsonl"})
    assert by_set.context["totals"]["rankings"] == 6
    assert [r["round"] for r in by_set.context["rounds"]] == [None]
    rows = list(csv.DictReader(io.StringIO(admin_client.get(reverse("stats-labelers-csv"),
                                                            {"round": second.pk}).content.decode())))
    assert [(row["name"], row["rankings"]) for row in rows] == [("alice", "1")]

    unknown = admin_client.get(reverse("stats"), {"round": second.pk + 100, "task_set": "nope"})
    assert unknown.status_code == 200
    assert f"There is no round {second.pk + 100}" in unknown.content.decode()
    assert unknown.context["totals"]["rankings"] == 11  # a bad filter shows everything, with the error


def test_agreement_by_round_is_charted_once_two_rounds_have_pairs(admin_client, labeler, other_labeler):
    first, first_tasks = round_with_tasks(2)
    second, second_tasks = round_with_tasks(2)
    _rank_all(first_tasks, [labeler, other_labeler])
    _rank_all(second_tasks, [labeler])
    _rank_all(second_tasks, [other_labeler], order=(2, 1, 0))
    response = admin_client.get(reverse("stats"))
    assert [(r["round"], r["agreement"]) for r in response.context["rounds"]] == [(first, 1), (second, 0)]
    page = response.content.decode()
    assert 'aria-label="Pairwise agreement by round"' in page
    assert page.count("<svg") == 5  # throughput, by week, by round, heat map, flag rates by version


def test_reward_model_agreement_column(admin_client, labeler, other_labeler, task_factory):
    _rank_all([task_factory(k=3)], [labeler, other_labeler])
    page = admin_client.get(reverse("stats")).content.decode()
    assert "Reward model agreement" in page and "75.0 %" not in page
    ModelVersion.objects.create(kind=ModelVersion.Kind.REWARD, name="rm", algorithm="reward", path="/x",
                                metrics={"reward/agreement/alice": 0.75, "reward/agreement/bob": 0.5})
    response = admin_client.get(reverse("stats"), {"sort": "reward_model", "dir": "desc"})
    assert [(r["name"], r["reward_model"]) for r in response.context["rows"]] == [("alice", 0.75), ("bob", 0.5)]
    assert "75.0 %" in response.content.decode()
    rows = list(csv.DictReader(io.StringIO(admin_client.get(reverse("stats-labelers-csv")).content.decode())))
    assert {row["name"]: row["reward_model"] for row in rows} == {"alice": "0.7500", "bob": "0.5000"}

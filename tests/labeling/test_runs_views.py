import pytest
from django.urls import reverse

from labeling.charts_line import line_chart_svg
from labeling.models import Run
from labeling.jobs.reporter import RunReporter
from labeling.services.runs import run_claim, run_enqueue

PAGES = ["runs", "model-versions"]


@pytest.fixture
def run(db):
    return run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"epochs": 1})


@pytest.mark.parametrize("name", PAGES)
def test_staff_pages_refuse_labelers_and_send_visitors_to_log_in(client, labeler, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(labeler)
    assert client.get(reverse(name)).status_code == 403


def test_run_detail_and_status_are_staff_only(client, labeler, run):
    client.force_login(labeler)
    assert client.get(reverse("run-detail", args=[run.pk])).status_code == 403
    assert client.get(reverse("run-status", args=[run.pk])).status_code == 403
    assert client.post(reverse("run-cancel", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED


def test_admin_watches_progress_and_charts(client, admin, run):
    claimed = run_claim(run_id=run.pk)
    reporter = RunReporter(claimed, min_interval=0)
    for step in range(1, 4):
        reporter(step, 10, {"reward/train_loss": 1.0 / step})
    client.force_login(admin)
    page = client.get(reverse("run-detail", args=[run.pk]))
    status = client.get(reverse("run-status", args=[run.pk])).json()
    assert page.status_code == 200 and b"<svg" in page.content
    assert status["status"] == "running" and status["progress"] == 30.0 and len(status["charts"]) == 1
    assert client.get(reverse("runs")).status_code == 200


def test_admin_cancels_a_queued_run(client, admin, run):
    client.force_login(admin)
    response = client.post(reverse("run-cancel", args=[run.pk]))
    run.refresh_from_db()
    assert response.status_code == 302 and run.status == Run.Status.CANCELLED


def test_retrying_a_run_that_did_not_fail_shows_a_message_and_changes_nothing(client, admin, run):
    client.force_login(admin)
    response = client.post(reverse("run-retry", args=[run.pk]), follow=True)
    assert b"Only a failed run can be retried" in response.content
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED


def test_chart_labels_are_escaped():
    svg = line_chart_svg({"<script>": [(0, 1.0), (1, 2.0)]}, title="<b>t</b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg


def test_an_empty_chart_says_so():
    assert "no data yet" in line_chart_svg({}, title="x")

"""A project's own flags, skip reasons and scores: the labeler page offers them, submit and skip keep to them."""
import json

import pytest
from django.urls import reverse

from labeling.label_choices import label_choices
from labeling.models import Assignment, Project, Prompt, Ranking, Skip, default_flags, default_skip_reasons
from labeling.services.assignment import task_assign_next


@pytest.fixture
def tone(db):
    return Project.objects.create(slug="tone", name="Tone", open_to_all=True, flags=[["tone", "Wrong tone"]],
                                  skip_reasons=[["offtopic", "Off topic"]], ask_scores=False)


def lease_in(project, labeler, task_factory) -> Assignment:
    task = task_factory(k=3)
    Prompt.objects.filter(pk=task.prompt_id).update(project=project)
    return task_assign_next(labeler=labeler)


@pytest.fixture
def tone_lease(tone, labeler, task_factory):
    return lease_in(tone, labeler, task_factory)


def post_json(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def submit(client, assignment, **extra):
    payload = {"tiers": [[c] for c in assignment.display_order], "submission_id": "s1", **extra}
    return post_json(client, reverse("label-submit", args=[assignment.pk]), payload)


def assert_nothing_written(assignment):
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE
    assert Ranking.objects.count() == 0 and Skip.objects.count() == 0


def test_the_page_offers_the_projects_flags_and_reasons_and_no_scores(labeler_client, tone_lease):
    body = labeler_client.get(reverse("label")).content.decode()
    assert 'class="flag-input" value="tone" data-label="Wrong tone"' in body
    assert 'name="reason" value="offtopic"> <kbd>1</kbd> Off topic' in body
    assert "score-btn" not in body and "Shift</kbd> <kbd>1</kbd>" not in body
    for key, label in default_flags() + default_skip_reasons():
        assert f'value="{key}"' not in body and label not in body


def test_the_default_project_keeps_todays_flags_reasons_and_scores(labeler, labeler_client, task_factory):
    task_factory()
    body = labeler_client.get(reverse("label")).content.decode()
    for number, (key, label) in enumerate(default_flags(), start=1):
        assert f'value="{key}" data-label="{label}">\n                <kbd>{number}</kbd>' in body
    for number, (key, label) in enumerate(default_skip_reasons(), start=1):
        assert f'value="{key}"> <kbd>{number}</kbd> {label}' in body.replace("&#x27;", "'")
    assert body.count('class="score-btn"') == 4 * 7  # four cards, seven buttons each
    assert ">Very poor</span>" in body and ">Excellent</span>" in body


def test_the_score_scale_shows_the_projects_words_at_its_ends(labeler, labeler_client, task_factory):
    polite = Project.objects.create(slug="polite", name="Polite", open_to_all=True, score_label_low="Rude",
                                    score_label_high="Gracious")
    lease_in(polite, labeler, task_factory)
    body = labeler_client.get(reverse("label")).content.decode()
    low, first, last, high = (body.index(s) for s in (">Rude</span>", 'data-score="1"', 'data-score="7"',
                                                      ">Gracious</span>"))
    assert low < first < last < high
    assert "Very poor" not in body and "Excellent" not in body


def test_a_project_without_flags_shows_no_flag_control(labeler, labeler_client, task_factory):
    plain = Project.objects.create(slug="plain", name="Plain", open_to_all=True, flags=[])
    lease_in(plain, labeler, task_factory)
    body = labeler_client.get(reverse("label")).content.decode()
    assert "flag-toggle" not in body and "card-flags" not in body


def test_a_flag_of_the_project_is_stored(labeler_client, tone_lease):
    cid = tone_lease.display_order[0]
    response = submit(labeler_client, tone_lease, flags={str(cid): ["tone"]})
    assert response.status_code == 201, response.json()
    assert Ranking.objects.get().flags == {str(cid): ["tone"]}


def test_a_flag_of_another_project_is_refused_naming_the_projects_flags(labeler_client, tone_lease):
    response = submit(labeler_client, tone_lease, flags={str(tone_lease.display_order[0]): ["harmful"]})
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown flag 'harmful'; choose from tone.", "field": "flags"}
    assert_nothing_written(tone_lease)


def test_scores_are_refused_where_the_project_does_not_ask_for_them(labeler_client, tone_lease):
    response = submit(labeler_client, tone_lease, scores={str(tone_lease.display_order[0]): 5})
    assert response.status_code == 400 and response.json()["field"] == "scores"
    assert "does not ask for scores" in response.json()["error"]
    assert_nothing_written(tone_lease)
    assert submit(labeler_client, tone_lease, scores={}).status_code == 201  # no scores is fine


def test_a_skip_takes_the_projects_reason_and_refuses_another(labeler_client, tone_lease):
    url = reverse("label-skip", args=[tone_lease.pk])
    refused = post_json(labeler_client, url, {"reason": "unclear"})
    assert refused.status_code == 400
    assert refused.json() == {"error": "Choose a reason for skipping: offtopic.", "field": "reason"}
    assert_nothing_written(tone_lease)
    assert post_json(labeler_client, url, {"reason": "offtopic"}).status_code == 201
    assert Skip.objects.get().reason == "offtopic"


def test_label_choices_reads_hand_edited_json_tolerantly():
    assert label_choices([["a", "A"], ["b", ""], "junk", ["c"], [1, "one"], ["a", "again"], ["d", None]]) == [
        ("a", "A"), ("b", "b"), ("d", "d")]
    assert label_choices(None) == [] and label_choices({"a": "A"}) == []


def test_the_simulated_labelers_reasons_are_the_default_projects():
    assert [list(choice) for choice in Skip.Reason.choices] == default_skip_reasons()


def test_hostile_labels_show_as_text(labeler, labeler_client, task_factory):
    script = "<script>alert(1)</script>"
    hostile = Project.objects.create(slug="hostile", name="Hostile", open_to_all=True, flags=[["x", script]],
                                     skip_reasons=[["y", script]], score_label_low=script, score_label_high=script)
    lease_in(hostile, labeler, task_factory)
    body = labeler_client.get(reverse("label")).content.decode()
    assert script not in body and body.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4 * 3 + 1

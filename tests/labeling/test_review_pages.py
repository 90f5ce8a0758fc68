"""The review pages: the queue and the item pages with their accept / reject / correct form, for a
project's reviewers; decisions shown on the item page and on the task's page."""
import pytest

from labeling.models import Membership, ReviewDecision
from labeling.services.stats import stats_refresh
from tests.labeling.project_people import signed_in
from tests.labeling.review_world import (  # noqa: F401
    completion_ids, demonstration, foreign_ranking, member, other_project, project, project_labeler, ranked, reviewer,
)


def _url(ranking) -> str:
    return f"/projects/helpful/review/rankings/{ranking.pk}/"


def test_the_queue_lists_unreviewed_work_with_reasons(project, reviewer, ranked):
    page = signed_in(reviewer).get("/projects/helpful/review/")
    assert page.status_code == 200
    html = page.content.decode()
    assert _url(ranked["alice"]) in html and "Low task agreement" in html and "Sample of the labeler" in html


@pytest.mark.parametrize("who, status", [("labeler", 403), ("stranger", 404)])
def test_the_pages_need_the_reviewer_role(project, ranked, project_labeler, who, status):
    user = project_labeler if who == "labeler" else member(project, "sam", Membership.Role.LABELER)
    if who == "stranger":
        Membership.objects.filter(user=user).delete()
    client = signed_in(user)
    assert client.get("/projects/helpful/review/").status_code == status
    assert client.get(_url(ranked["bob"])).status_code == status
    assert client.post(_url(ranked["bob"]), {"action": "accept"}).status_code == status
    assert not ReviewDecision.objects.exists()


def test_anonymous_visitors_go_to_log_in(project, ranked):
    assert signed_in(None).get("/projects/helpful/review/").status_code == 302


def test_a_ranking_of_another_project_is_404(project, reviewer, foreign_ranking):
    assert signed_in(reviewer).get(_url(foreign_ranking)).status_code == 404
    assert signed_in(reviewer).post(_url(foreign_ranking), {"action": "accept"}).status_code == 404


def test_the_item_page_shows_the_order_in_letters(project, reviewer, ranked):
    html = signed_in(reviewer).get(_url(ranked["bob"])).content.decode()
    assert "B &gt; A &gt; C = D" in html and 'name="corrected"' in html
    assert "#}" not in html and "include with" not in html  # no template comment leaks into the page


@pytest.mark.parametrize("form, words", [
    ({"action": "reject", "reason": ""}, "a reason is required"),
    ({"action": "correct", "corrected": "A > Z > B > C"}, "&#x27;Z&#x27; is not a completion of this task"),
    ({"action": "correct", "corrected": "A > B > C"}, "D missing"),
    ({"action": "correct", "corrected": "A > B > > C = D"}, "Tier 3"),
    ({"action": "correct", "corrected": "A > B = B > C > D"}, "B written more than once"),
    ({"action": "correct", "corrected": "a > b > c > d"}, "accept it instead"),
    ({"action": "delete"}, "Select a valid choice"),
])
def test_a_bad_decision_is_shown_on_the_form_and_changes_nothing(project, reviewer, ranked, form, words):
    page = signed_in(reviewer).post(_url(ranked["alice"]), form)
    assert page.status_code == 400
    assert words in page.content.decode()
    ranked["alice"].refresh_from_db()
    assert ranked["alice"].review_status == "" and not ReviewDecision.objects.exists()


def test_a_correction_in_letters_is_recorded_and_shown(project, reviewer, ranked):
    client = signed_in(reviewer)
    a, b, c, d = completion_ids(ranked["task"])
    response = client.post(_url(ranked["alice"]), {"action": "correct", "corrected": " d > b = c > a ",
                                                   "reason": "D is the only right answer"})
    assert response.status_code == 302 and response["Location"] == "/projects/helpful/review/"
    ranked["alice"].refresh_from_db()
    assert ranked["alice"].final_tiers == [[d], [b, c], [a]]
    item = client.get(_url(ranked["alice"])).content.decode()
    assert "D is the only right answer" in item and "unreviewed: <code>A &gt; B &gt; C &gt; D</code>" in item
    assert "corrected: <code>D &gt; B = C &gt; A</code>" in item and "rita" in item
    stats_refresh(project=project)
    task_page = client.get(f"/stats/tasks/{ranked['task'].pk}/").content.decode()
    assert "D is the only right answer" in task_page and "Review decisions" in task_page


def test_a_reject_from_the_page_leaves_the_queue(project, reviewer, ranked):
    client = signed_in(reviewer)
    assert client.post(_url(ranked["bob"]), {"action": "reject", "reason": "random"}).status_code == 302
    ranked["bob"].refresh_from_db()
    assert ranked["bob"].review_status == "rejected"
    assert _url(ranked["bob"]) not in client.get("/projects/helpful/review/").content.decode()
    assert "random" in client.get(f"/stats/tasks/{ranked['task'].pk}/").content.decode()


def test_a_demonstration_is_corrected_from_its_page(project, reviewer, project_labeler):
    demo = demonstration(project, project_labeler, text="An answer.")
    client = signed_in(reviewer)
    url = f"/projects/helpful/review/demonstrations/{demo.pk}/"
    assert "An answer." in client.get(url).content.decode()
    project.demonstration_max_chars = 20
    project.save()
    refused = client.post(url, {"action": "correct", "corrected": "x" * 21})
    assert refused.status_code == 400 and "the limit is 20" in refused.content.decode()
    assert client.post(url, {"action": "correct", "corrected": "A better answer."}).status_code == 302
    demo.refresh_from_db()
    assert (demo.review_status, demo.final_text) == ("corrected", "A better answer.")
    assert "A better answer." in client.get(url).content.decode()

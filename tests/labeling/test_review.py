"""labeling.services.review.review_decide: each refusal changes nothing; each decision is recorded
with before and after; the item's status follows the latest decision."""
import pytest

from labeling.errors import RejectedInput
from labeling.models import Demonstration, Membership, Ranking, ReviewDecision
from labeling.services.review import review_decide
from tests.labeling.review_world import (  # noqa: F401
    completion_ids, demonstration, foreign_ranking, member, other_project, project, project_labeler, ranked, reviewer,
)


def refused(field: str, status: int = 400, **kwargs) -> RejectedInput:
    with pytest.raises(RejectedInput) as caught:
        review_decide(**kwargs)
    assert (caught.value.field, caught.value.status) == (field, status), caught.value.message
    return caught.value


def assert_unchanged(*rankings):
    assert not ReviewDecision.objects.exists()
    for ranking in rankings:
        ranking.refresh_from_db()
        assert (ranking.review_status, ranking.corrected_tiers) == ("", None)


def test_accept_is_recorded_with_who_before_and_after(project, reviewer, ranked):
    alice = ranked["alice"]
    decision = review_decide(reviewer=reviewer, project=project, ranking_id=alice.pk, action="accept")
    alice.refresh_from_db()
    assert alice.review_status == "accepted"
    assert (decision.reviewer, decision.project, decision.ranking, decision.action) == (reviewer, project, alice, "accept")
    assert decision.before == {"review_status": "", "tiers": alice.tiers}
    assert decision.after == {"review_status": "accepted", "tiers": alice.tiers}
    assert decision.created_at is not None


def test_reject_needs_a_reason(project, reviewer, ranked):
    for reason in ("", "   ", None):
        error = refused("reason", reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk, action="reject",
                        reason=reason)
        assert "reason" in error.message
    assert_unchanged(ranked["alice"])


def test_unknown_action_is_refused(project, reviewer, ranked):
    for action in ("delete", "", None, "Accept"):
        refused("action", reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk, action=action)
    assert_unchanged(ranked["alice"])


@pytest.mark.parametrize("tiers, words", [
    (None, "corrected order"),
    ([], "rank the completions"),
    ("A > B", "list of tiers"),
    ([[10**9]], "not part of this task"),
    ([["x"]], "not a completion id"),
])
def test_correct_with_bad_tiers_is_refused(project, reviewer, ranked, tiers, words):
    error = refused("corrected_tiers", reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk,
                    action="correct", corrected_tiers=tiers)
    assert words in error.message.lower()
    assert_unchanged(ranked["alice"])


def test_correct_tiers_follow_the_labelers_rules(project, reviewer, ranked):
    """Missing and repeated completions, as a labeler's submit refuses them; and the labeler's own order."""
    a, b, c, d = completion_ids(ranked["task"])
    for tiers, words in (([[a], [b], [c]], "missing"), ([[a], [b], [c], [d], [a]], "more than once"),
                         ([[a], [b], [c], [d]], "labeler's own")):
        error = refused("corrected_tiers", reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk,
                        action="correct", corrected_tiers=tiers)
        assert words in error.message
    assert_unchanged(ranked["alice"])


def test_correct_keeps_the_original_beside_the_reviewers_order(project, reviewer, ranked):
    alice = ranked["alice"]
    a, b, c, d = completion_ids(ranked["task"])
    original = alice.tiers
    decision = review_decide(reviewer=reviewer, project=project, ranking_id=alice.pk, action="correct",
                             corrected_tiers=[[d], [b, c], [a]], reason="D answers the question")
    alice.refresh_from_db()
    assert (alice.review_status, alice.tiers, alice.corrected_tiers) == ("corrected", original, [[d], [b, c], [a]])
    assert alice.final_tiers == [[d], [b, c], [a]]
    assert decision.before == {"review_status": "", "tiers": original}
    assert decision.after == {"review_status": "corrected", "tiers": [[d], [b, c], [a]]}
    assert decision.reason == "D answers the question"


def test_a_second_decision_replaces_the_status_and_both_are_kept(project, reviewer, ranked):
    alice = ranked["alice"]
    a, b, c, d = completion_ids(ranked["task"])
    review_decide(reviewer=reviewer, project=project, ranking_id=alice.pk, action="correct",
                  corrected_tiers=[[b], [a], [c], [d]])
    review_decide(reviewer=reviewer, project=project, ranking_id=alice.pk, action="reject", reason="random clicks")
    alice.refresh_from_db()
    assert (alice.review_status, alice.corrected_tiers, alice.final_tiers) == ("rejected", None, alice.tiers)
    history = list(ReviewDecision.objects.filter(ranking=alice).order_by("id").values_list("action", "before", "after"))
    assert [h[0] for h in history] == ["correct", "reject"]
    assert history[1][1] == {"review_status": "corrected", "tiers": [[b], [a], [c], [d]]}
    assert history[1][2] == {"review_status": "rejected", "tiers": alice.tiers}


def test_an_item_of_another_project_is_404(project, reviewer, ranked, foreign_ranking):
    refused("ranking", 404, reviewer=reviewer, project=project, ranking_id=foreign_ranking.pk, action="accept")
    refused("ranking", 404, reviewer=reviewer, project=project, ranking_id=10**9, action="accept")
    refused("ranking", 404, reviewer=reviewer, project=project, ranking_id="1", action="accept")
    assert_unchanged(foreign_ranking)


def test_a_labeler_is_refused_403_and_a_stranger_404(project, project_labeler, ranked):
    refused("project", 403, reviewer=project_labeler, project=project, ranking_id=ranked["bob"].pk, action="accept")
    stranger = member(project, "sam", Membership.Role.LABELER)
    Membership.objects.filter(user=stranger).delete()
    refused("project", 404, reviewer=stranger, project=project, ranking_id=ranked["bob"].pk, action="accept")
    assert_unchanged(ranked["bob"])


def test_one_item_must_be_named(project, reviewer, ranked):
    refused("item", reviewer=reviewer, project=project, action="accept")
    refused("item", reviewer=reviewer, project=project, action="accept", ranking_id=ranked["alice"].pk,
            demonstration_id=1)


def test_a_correction_given_with_another_action_or_item_is_refused(project, reviewer, ranked, project_labeler):
    a, b, c, d = completion_ids(ranked["task"])
    refused("corrected_tiers", reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk, action="accept",
            corrected_tiers=[[b], [a], [c], [d]])
    refused("corrected_text", reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk, action="correct",
            corrected_text="better")
    demo = demonstration(project, project_labeler)
    refused("corrected_tiers", reviewer=reviewer, project=project, demonstration_id=demo.pk, action="correct",
            corrected_tiers=[[a]])
    refused("corrected_text", reviewer=reviewer, project=project, demonstration_id=demo.pk, action="reject",
            reason="off topic", corrected_text="better")
    assert_unchanged(ranked["alice"])


def test_a_demonstration_is_corrected_within_the_projects_length_limits(project, reviewer, project_labeler):
    project.demonstration_min_chars, project.demonstration_max_chars = 10, 40
    project.save()
    demo = demonstration(project, project_labeler, text="Too short but fine.")
    for text in ("short", "x" * 41, None, 7, " Too short but fine. "):
        refused("corrected_text", reviewer=reviewer, project=project, demonstration_id=demo.pk, action="correct",
                corrected_text=text)
    demo.refresh_from_db()
    assert (demo.review_status, demo.corrected_text) == ("", "")
    decision = review_decide(reviewer=reviewer, project=project, demonstration_id=demo.pk, action="correct",
                             corrected_text="  A clearer, complete answer.  ")
    demo.refresh_from_db()
    assert (demo.review_status, demo.text, demo.final_text) == ("corrected", "Too short but fine.",
                                                               "A clearer, complete answer.")
    assert decision.before == {"review_status": "", "text": "Too short but fine."}
    assert decision.after == {"review_status": "corrected", "text": "A clearer, complete answer."}


def test_a_demonstration_of_another_project_is_404_and_a_reject_needs_a_reason(
        project, other_project, reviewer, project_labeler):
    foreign = demonstration(other_project, project_labeler)
    refused("demonstration", 404, reviewer=reviewer, project=project, demonstration_id=foreign.pk, action="accept")
    own = demonstration(project, project_labeler)
    refused("reason", reviewer=reviewer, project=project, demonstration_id=own.pk, action="reject")
    review_decide(reviewer=reviewer, project=project, demonstration_id=own.pk, action="reject", reason="copied")
    assert Demonstration.objects.get(pk=own.pk).review_status == "rejected"
    assert Demonstration.objects.get(pk=foreign.pk).review_status == ""

"""A manager excludes a member from training (issue 18): the reward/DPO input leaves their rankings out,
agreement and exports keep them; the members page toggles it (manager only), the stats page marks it."""
import json

import pytest

from labeling.errors import RejectedInput
from labeling.jobs.reward import run_rankings_write
from labeling.models import Membership, Run, TaskAgreement
from labeling.selectors.rankings import RankingFilter, rankings_selected
from labeling.services.stats import stats_refresh
from labeling.services.training_exclusion import member_training_exclusion_set
from tests.labeling.project_people import signed_in
from tests.labeling.review_world import member, other_project, project, project_task, rank, reviewer  # noqa: F401

TRUE_ORDER = [0, 1, 2, 3]


@pytest.fixture
def world(project, other_project):  # noqa: F811
    """Two good labelers and mallory (who ranks in reverse) on three tasks of ``project``; a manager."""
    good = [member(project, f"good{i}", Membership.Role.LABELER) for i in range(2)]
    mallory = member(project, "mallory", Membership.Role.LABELER)
    Membership.objects.create(project=other_project, user=good[0], excluded_from_training=True)  # elsewhere only
    tasks = [project_task(project, prompt_text=f"Question {i}") for i in range(3)]
    for task in tasks:
        for user in good:
            rank(task, user, TRUE_ORDER)
        rank(task, mallory, TRUE_ORDER[::-1])
    return {"good": good, "mallory": mallory, "tasks": tasks, "manager": member(project, "carol", Membership.Role.MANAGER)}


def _reward_input(project) -> list[dict]:  # noqa: F811
    _rankings, path = run_rankings_write(Run.objects.create(project=project, kind=Run.Kind.TRAIN_REWARD))
    with open(path) as lines:
        return [json.loads(line) for line in lines]


def test_a_run_leaves_out_an_excluded_labeler_but_agreement_and_exports_keep_them(project, world, settings, tmp_path):  # noqa: F811
    settings.VAR_DIR = tmp_path
    assert sum(r["labeler"] == "mallory" for r in _reward_input(project)) == 3
    member_training_exclusion_set(project=project, user_id=world["mallory"].pk, excluded=True, by=world["manager"])
    after = _reward_input(project)
    assert len(after) == 6 and {r["labeler"] for r in after} == {"good0", "good1"}  # good0's exclusion elsewhere: no
    assert rankings_selected(RankingFilter(project=project)).filter(labeler=world["mallory"]).count() == 3  # exports
    stats_refresh(project=project)
    assert set(TaskAgreement.objects.filter(task__in=world["tasks"]).values_list("share", flat=True)) == {1 / 3}
    member_training_exclusion_set(project=project, user_id=world["mallory"].pk, excluded=False, by=world["manager"])
    assert sum(r["labeler"] == "mallory" for r in _reward_input(project)) == 3


def test_a_manager_toggles_it_on_the_members_page_and_the_stats_page_marks_it(project, world):  # noqa: F811
    manager, mallory = signed_in(world["manager"]), world["mallory"]
    page = manager.get("/projects/helpful/members/").content.decode()
    assert f"/projects/helpful/members/{mallory.pk}/training" in page and "Exclude from training" in page
    response = manager.post(f"/projects/helpful/members/{mallory.pk}/training", {"excluded": "true"})
    assert response.status_code == 302
    assert Membership.objects.get(project=project, user=mallory).excluded_from_training
    assert "Use for training" in manager.get("/projects/helpful/members/").content.decode()
    stats_refresh(project=project)
    stats = manager.get("/stats/?project=helpful").content.decode()
    assert 'data-excluded="mallory"' in stats and 'data-excluded="good0"' not in stats
    assert manager.post(f"/projects/helpful/members/{mallory.pk}/training", {"excluded": "false"}).status_code == 302
    assert not Membership.objects.get(project=project, user=mallory).excluded_from_training
    assert 'data-excluded="mallory"' not in manager.get("/stats/?project=helpful").content.decode()


def test_non_managers_get_403_and_nothing_changes(project, world, reviewer):  # noqa: F811
    mallory = world["mallory"]
    for user in (world["good"][0], reviewer, mallory):
        response = signed_in(user).post(f"/projects/helpful/members/{mallory.pk}/training", {"excluded": "true"})
        assert response.status_code == 403
    with pytest.raises(RejectedInput) as refused:
        member_training_exclusion_set(project=project, user_id=mallory.pk, excluded=True, by=reviewer)
    assert refused.value.status == 403
    assert not Membership.objects.get(project=project, user=mallory).excluded_from_training


def test_an_unknown_member_is_404_and_a_bad_value_400(project, other_project, world):  # noqa: F811
    manager, mallory = signed_in(world["manager"]), world["mallory"]
    outsider = member(other_project, "olga", Membership.Role.LABELER)  # a user, but no member of this project
    for user_id in (outsider.pk, 10**9):
        response = manager.post(f"/projects/helpful/members/{user_id}/training", {"excluded": "true"})
        assert response.status_code == 404 and "No such member in this project." in response.content.decode()
    assert not Membership.objects.get(project=other_project, user=outsider).excluded_from_training
    for body in ({"excluded": "maybe"}, {}):
        response = manager.post(f"/projects/helpful/members/{mallory.pk}/training", body)
        assert response.status_code == 400 and "excluded must be true or false" in response.content.decode()
    assert manager.get(f"/projects/helpful/members/{mallory.pk}/training").status_code == 405
    assert not Membership.objects.get(project=project, user=mallory).excluded_from_training

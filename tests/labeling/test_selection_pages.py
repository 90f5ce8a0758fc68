"""What admins see of active task selection: the round page counts its tasks by how they were picked,
the task's stats page shows its method, score, rank and whether it was a random pick."""
from django.urls import reverse

from labeling.models import ModelVersion, RankingTask, Run, TrainingRound
from tests.factories import make_task


def _sampled_round(selection_summary, selections):
    policy, _ = ModelVersion.objects.get_or_create(kind="policy", name="p-1", path="/nowhere", algorithm="external")
    training_round = TrainingRound.objects.create(algo="dpo", config={}, policy_in=policy, prompt_ids=[],
                                                  status=TrainingRound.Status.SUCCEEDED, active=False)
    run = Run.objects.create(kind=Run.Kind.SAMPLE, status=Run.Status.SUCCEEDED, training_round=training_round,
                             outputs={"tasks_created": len(selections),
                                      **({"selection": selection_summary} if selection_summary else {})})
    tasks = []
    for rank, selection in enumerate(selections, start=1):
        task = make_task(k=3)
        RankingTask.objects.filter(pk=task.pk).update(source_run=run, selection=selection,
                                                      priority=len(selections) - rank + 1 if selection else 0)
        tasks.append(task)
    return training_round, tasks


def test_the_round_and_task_pages_show_how_tasks_were_picked(client, admin):
    picks = [{"method": "uncertainty", "score": 0.1234, "rank": 1, "random_pick": False, "pool": 9},
             {"method": "uncertainty", "score": 0.05, "rank": 2, "random_pick": False, "pool": 9},
             {"method": "random", "score": 0.0, "rank": 3, "random_pick": True, "pool": 9}]
    summary = {"requested": "uncertainty", "method": "uncertainty", "pool": 9, "picked": 3, "random_picks": 1,
               "members": 4}
    training_round, tasks = _sampled_round(summary, picks)
    client.force_login(admin)
    page = client.get(reverse("round-detail", args=[training_round.pk])).content.decode()
    assert "sampled 9 candidate tasks; 3 became tasks, picked by uncertainty" in page
    assert "2 tasks by uncertainty" in page and "1 task at random (unbiased share)" in page
    first = client.get(reverse("stats-task", args=[tasks[0].pk])).content.decode()
    assert "picked by uncertainty, score 0.1234, rank 1 among the picks from 9 candidates (priority 3" in first
    third = client.get(reverse("stats-task", args=[tasks[2].pk])).content.decode()
    assert "picked at random (the unbiased share)" in third and "rank 3" in third


def test_a_fallback_and_plain_sampling_say_so(client, admin):
    summary = {"requested": "uncertainty", "method": "random", "pool": 6, "picked": 2, "random_picks": 2, "members": 1}
    fallback, _ = _sampled_round(summary, [{"method": "random", "score": 0.0, "rank": r, "random_pick": True,
                                            "pool": 6} for r in (1, 2)])
    client.force_login(admin)
    page = client.get(reverse("round-detail", args=[fallback.pk])).content.decode()
    assert "picked by random (asked for uncertainty" in page and "2 tasks at random" in page
    TrainingRound.objects.all().delete()
    plain, tasks = _sampled_round(None, [None, None])
    page = client.get(reverse("round-detail", args=[plain.pk])).content.decode()
    assert "Plain sampling" in page and "2 tasks by plain sampling" in page
    assert "Active selection" not in client.get(reverse("stats-task", args=[tasks[0].pk])).content.decode()


def test_the_tasks_api_gives_each_task_its_priority_and_selection(admin, db):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    pick = {"method": "variance", "score": 0.5, "rank": 1, "random_pick": False, "pool": 3}
    _, (picked,) = _sampled_round({"requested": "variance", "method": "variance", "pool": 3, "picked": 1,
                                   "random_picks": 0, "members": 2}, [pick])
    plain = make_task(k=2)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=admin)[0].key}")
    listed = {t["id"]: t for t in api.get("/api/v1/tasks/").json()["results"]}
    assert (listed[picked.pk]["priority"], listed[picked.pk]["selection"]) == (1.0, pick)
    assert (listed[plain.pk]["priority"], listed[plain.pk]["selection"]) == (0.0, None)

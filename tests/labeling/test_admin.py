"""The Django admin's task list shows and filters by task set."""
from django.urls import reverse

from labeling.models import RankingTask


def test_task_list_shows_and_filters_by_task_set(client, admin, task_factory):
    tasks = [task_factory(k=2) for _ in range(3)]
    RankingTask.objects.filter(pk__in=[tasks[0].pk, tasks[1].pk]).update(task_set="batch-9.jsonl")
    client.force_login(admin)
    url = reverse("admin:labeling_rankingtask_changelist")
    page = client.get(url).content.decode()
    assert "By task set" in page and page.count('<td class="field-task_set">batch-9.jsonl</td>') == 2
    filtered = client.get(url, {"task_set": "batch-9.jsonl"})
    assert set(filtered.context["cl"].result_list) == set(tasks[:2])

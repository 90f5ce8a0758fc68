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


def test_projects_runs_rounds_and_versions_are_in_the_admin_and_runs_are_read_only(client, admin, tiny_policy_dir):
    from labeling.models import ModelVersion, Project, Run
    from labeling.services.model_versions import model_version_register

    project = Project.objects.create(slug="other", name="Other <b>x</b>")
    version = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    run = Run.objects.create(kind="sample", project=project)
    client.force_login(admin)
    for name, obj in (("project", project), ("run", run), ("modelversion", version)):
        assert client.get(reverse(f"admin:labeling_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:labeling_{name}_change", args=[obj.pk])).status_code == 200
    assert client.get(reverse("admin:labeling_traininground_changelist")).status_code == 200
    assert "Other <b>x</b>" not in client.get(reverse("admin:labeling_project_changelist")).content.decode()
    assert client.get(reverse("admin:labeling_run_add")).status_code == 403
    client.post(reverse("admin:labeling_run_change", args=[run.pk]), {"status": "succeeded", "progress": 100})
    run.refresh_from_db()
    assert (run.status, run.progress) == ("queued", 0) and ModelVersion.objects.count() == 1

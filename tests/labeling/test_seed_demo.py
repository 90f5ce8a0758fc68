from django.contrib.auth import authenticate
from django.core.management import call_command

from labeling.models import Completion, RankingTask


def test_seed_demo_is_idempotent_and_creates_the_demo_logins(db, settings):
    call_command("seed_demo")
    tasks, completions = RankingTask.objects.count(), Completion.objects.count()
    call_command("seed_demo")
    assert RankingTask.objects.count() == tasks >= 60
    assert Completion.objects.count() == completions == 4 * tasks
    assert RankingTask.objects.exclude(gold_tiers=None).exists()
    assert set(RankingTask.objects.values_list("task_set", "source_run")) == {("demo", None)}
    admin = authenticate(username="admin", password=settings.DEMO_PASSWORD)
    assert admin is not None and admin.is_staff
    for name in ("labeler1", "labeler2", "labeler3"):
        user = authenticate(username=name, password=settings.DEMO_PASSWORD)
        assert user is not None and not user.is_staff


def test_the_demo_has_conversation_tasks_stored_with_their_messages(db):
    from labeling.models import Prompt

    call_command("seed_demo")
    conversations = list(Prompt.objects.filter(messages__isnull=False).order_by("pk"))
    assert len(conversations) == 3 and Prompt.objects.filter(messages__isnull=True).count() >= 60
    system_first, code, markdown = conversations
    assert system_first.messages[0]["role"] == "system" and len(system_first.messages[0]["content"]) > 800
    assert len(code.messages) >= 3 and "```python" in code.messages[1]["content"]
    assert "| Model |" in markdown.messages[1]["content"] and markdown.messages[-1]["role"] == "user"
    for prompt in conversations:
        assert prompt.text.startswith(("System: ", "User: ")) and prompt.tasks.get().completions.count() == 4

"""factory_boy factories for the labeling models."""
import factory
from django.contrib.auth import get_user_model

from labeling.models import Completion, Prompt, RankingTask


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    text = factory.Sequence(lambda n: f"List {n % 5 + 2} fruits.")


def make_task(*, k: int = 4, texts=None, required_rankings: int = 3, prompt_text=None, gold_tiers=None):
    """A ranking task with ``k`` completions; gold tiers given as indexes become completion ids."""
    prompt = PromptFactory(**({"text": prompt_text} if prompt_text else {}))
    task = RankingTask.objects.create(prompt=prompt, required_rankings=required_rankings)
    texts = texts or [f"Answer {i} to prompt {prompt.pk}" for i in range(k)]
    completions = [Completion.objects.create(task=task, text=t, source=Completion.Source.SEED) for t in texts]
    if gold_tiers is not None:
        task.gold_tiers = [[completions[i].pk for i in tier] for tier in gold_tiers]
        task.save(update_fields=["gold_tiers"])
    return task

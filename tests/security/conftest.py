"""One small project with hostile text everywhere a user can put text, shared by the security tests.

Prompts, completions, ranking comments, skip notes, usernames, run errors and logs, round errors and
model names all carry the payloads below; every page and admin screen that shows them is rendered.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from labeling.models import Completion, ModelVersion, Run, Skip, TrainingRound
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from labeling.services.stats import stats_rebuild_all
from tests.factories import UserFactory, make_task

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(2)>'
PAYLOADS = (SCRIPT, ATTR)
EVIL_NAME = "<script>alert(3)</script>"
# What Django's autoescape makes of them: a page that shows the text must contain these.
ESCAPED = {
    SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;",
    ATTR: "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;",
    EVIL_NAME: "&lt;script&gt;alert(3)&lt;/script&gt;",
}
RAW = (SCRIPT, ATTR, EVIL_NAME, "<img src=x", "<script>alert")


@dataclass
class World:
    labeler: object
    other_labeler: object
    admin: object
    evil: object
    task: object  # leased to labeler; ranked by evil and carol; sampled by both policy versions
    other_task: object  # skipped by other_labeler
    assignment: object  # labeler's lease of ``task``
    ranking: object  # evil's ranking of ``task``
    skip: object
    run: object
    round: object
    v1: object
    v2: object

    def client(self, persona: str) -> Client:
        client = Client()
        user = {"anonymous": None, "labeler": self.labeler, "other_labeler": self.other_labeler,
                "admin": self.admin}[persona]
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture
def world(labeler, other_labeler, admin, tmp_path) -> World:
    evil = UserFactory(username=EVIL_NAME)
    carol = UserFactory(username="carol")
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    run = Run.objects.create(kind=Run.Kind.TRAIN_REWARD, status=Run.Status.FAILED, error=f"failed: {SCRIPT}",
                             log_tail=f"step 1 {ATTR}", created_by=evil, config={"note": SCRIPT})
    v1 = ModelVersion.objects.create(kind=ModelVersion.Kind.POLICY, name=f"v1 {SCRIPT}", algorithm="bootstrap",
                                     path=str(checkpoint))
    v2 = ModelVersion.objects.create(kind=ModelVersion.Kind.POLICY, name=f"v2 {ATTR}", algorithm="dpo",
                                     path=str(checkpoint), parent=v1, run=run)
    training_round = TrainingRound.objects.create(algo="dpo", status=TrainingRound.Status.FAILED, active=False,
                                                  policy_in=v1, policy_out=v2, error=f"round {ATTR}",
                                                  created_by=evil)
    run.training_round = training_round
    run.save(update_fields=["training_round"])
    task = make_task(prompt_text=f"{SCRIPT} {ATTR}", texts=[SCRIPT, ATTR, f"plain {SCRIPT}"], required_rankings=5)
    for completion, version in zip(task.completions.order_by("pk"), (v1, v1, v2)):
        Completion.objects.filter(pk=completion.pk).update(source=Completion.Source.MODEL, model_version=version)
    rankings = []
    for user, comment in ((evil, f"{SCRIPT} {ATTR}"), (carol, ATTR)):
        lease = task_assign_next(labeler=user)
        rankings.append(ranking_submit(labeler=user, assignment_id=lease.pk, submission_id=f"s-{user.pk}",
                                       tiers=[[c] for c in lease.display_order], comment=comment).ranking)
    other_task = make_task(k=2, prompt_text=f"second {ATTR}")
    skip = Skip.objects.create(task=other_task, labeler=other_labeler, reason=Skip.Reason.OTHER, note=SCRIPT)
    stats_rebuild_all()
    assignment = task_assign_next(labeler=labeler)
    assert assignment.task_id == task.pk
    return World(labeler, other_labeler, admin, evil, task, other_task, assignment, rankings[0], skip, run,
                 training_round, v1, v2)


def ranking_body(world: World) -> dict:
    return {"tiers": [[c] for c in world.assignment.display_order], "submission_id": "matrix"}


"""A succeeded round whose canary tasks labelers ranked, for the reward-hacking guard's tests.

``fixed_reward`` is a tiny reward checkpoint saved once (its random score head fixed on disk, so every load
scores alike); :func:`canary_round` makes a succeeded PPO round with that reward model, a sample run and
``tasks`` canary tasks of it; :func:`rank_against_the_model` has labelers rank every open task in the
reverse of the model's order (or in its order), so the model's agreement with them is 0 (or 1).
"""
from __future__ import annotations

import pytest

from labeling.models import Completion, Run, TrainingRound
from labeling.services.assignment import task_assign_next
from labeling.services.model_versions import model_version_register
from labeling.services.ranking import ranking_submit
from labeling.services.runs import run_enqueue
from tests.factories import make_task


@pytest.fixture
def fixed_reward(db, tiny_bert_path, tmp_path):
    from modeling.models.reward_model import load_reward_model

    model, tokenizer = load_reward_model(tiny_bert_path)
    model.save_pretrained(tmp_path / "reward")
    tokenizer.save_pretrained(tmp_path / "reward")
    return model_version_register(kind="reward", algorithm="reward", path=tmp_path / "reward",
                                  metrics={"reward/accuracy": 0.9})


def canary_round(policy, reward, *, tasks: int, canary: bool = True) -> TrainingRound:
    training_round = TrainingRound.objects.create(algo="ppo", status=TrainingRound.Status.SUCCEEDED, active=False,
                                                  policy_in=policy, reward=reward, policy_out=policy)
    sample = run_enqueue(kind=Run.Kind.SAMPLE, inputs={"policy_version": policy.pk, "prompt_ids": []})
    Run.objects.filter(pk=sample.pk).update(training_round=training_round, status=Run.Status.SUCCEEDED)
    for i in range(tasks):
        task = make_task(k=3, required_rankings=2, prompt_text=f"canary question {i}?",
                         texts=[f"answer {i} one", f"the second answer to {i}", f"{i} three three three"])
        task.source_run_id, task.canary = sample.pk, canary
        task.save(update_fields=["source_run", "canary"])
    return training_round


def rank_against_the_model(reward, labelers, *, agree: bool = False) -> int:
    """Each labeler ranks every task open to them; returns the number of rankings."""
    from modeling.models.reward_ensemble import load_reward_ensemble

    ensemble = load_reward_ensemble(reward.path)
    count = 0
    for labeler in labelers:
        while (assignment := task_assign_next(labeler=labeler)) is not None:
            texts = dict(Completion.objects.filter(task=assignment.task).values_list("pk", "text"))
            ids = list(texts)
            scores = ensemble.member_scores([assignment.task.prompt.text] * len(ids), [texts[i] for i in ids])[:, 0]
            order = sorted(range(len(ids)), key=lambda j: scores[j].item(), reverse=agree)
            ranking_submit(labeler=labeler, assignment_id=assignment.pk, tiers=[[ids[j]] for j in order],
                           submission_id=f"{labeler.pk}-{assignment.pk}")
            count += 1
    return count

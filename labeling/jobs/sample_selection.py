"""Active task selection in the sample step: which of the sampled candidates become tasks.

A sample run whose ``inputs`` carry ``tasks_wanted`` and a ``reward_version``
(``labeling.services.task_selection.sample_step_inputs``) sampled more prompts than it keeps. Every
candidate (a prompt with at least two distinct completions) is scored with the reward version, a model or
an ensemble (``modeling.models.reward_ensemble``), and ``modeling.selection.select_tasks`` picks n of
them under the run's ``selection``, ``random_share`` and ``diversity_penalty``; the random picks are seeded
by the run's ``seed`` setting, else its id. n is the number of tasks plain sampling would have made: the
round's own prompts (the first ``tasks_wanted`` of ``prompt_ids``) whose samples hold two distinct texts.
So a selecting round spends the same ranking budget as a plain one with the same policy.

A one-member reward model gives every candidate uncertainty (and spread) 0, so its picks would all be ties
broken by position: the run then picks at random instead, records method ``random`` and says so in its log.

Each pick records ``{"method", "score", "rank", "random_pick", "pool"}`` and gets priority n - rank + 1,
so leasing serves rank 1 first. Runs on the worker, outside any transaction.
"""
from __future__ import annotations

from labeling.jobs.reporter import RunReporter
from labeling.models import ModelVersion, Run

SCORE_BATCH = 16  # candidate tasks scored per forward pass


def selection_picks(run: Run, groups: list, group_prompts: list, reporter: RunReporter
                    ) -> tuple[dict[int, dict], dict] | None:
    """``{index into groups: {"priority", "selection"}}`` of the picked groups (``group_prompts``: each
    group's ``Prompt`` row) and a summary for the run's outputs; None when the run does plain sampling."""
    if "tasks_wanted" not in run.inputs or "reward_version" not in run.inputs:
        if run.config.get("selection", "random") != "random":
            reporter.log("no reward model scores the candidates here (an sft round's first tasks, or a run "
                         "outside a round): every prompt sampled becomes a task")
        return None
    from modeling.commands.select import member_scores_per_task
    from modeling.formats.conversation import prompt_text
    from modeling.models.reward_ensemble import load_reward_ensemble
    from modeling.models.sampling import policy_device
    from modeling.selection import SelectionConfig, select_tasks, task_informativeness

    requested = run.config.get("selection", "uncertainty")
    candidates = [(index, group) for index, group in enumerate(groups) if len(group.completions) >= 2]
    own = set(run.inputs["prompt_ids"][: int(run.inputs["tasks_wanted"])])
    # the tasks plain sampling would have made; by row, as spare prompts may repeat an own prompt's text
    wanted = sum(group_prompts[index].pk in own for index, _ in candidates)
    summary = {"requested": requested, "pool": len(candidates), "picked": wanted}
    if wanted == 0:
        return {}, {**summary, "method": requested, "random_picks": 0}
    version = ModelVersion.objects.get(pk=run.inputs["reward_version"], kind=ModelVersion.Kind.REWARD)
    ensemble = load_reward_ensemble(version.path, device=policy_device())
    method, members = requested, ensemble.size
    if members < 2:
        method = "random"
        reporter.log(f"reward model {version.name} has one member: uncertainty is 0 for every candidate, "
                     f"so {wanted} of {len(candidates)} candidates are picked at random")
        scores = [0.0] * len(candidates)  # one member's uncertainty, without the forward passes
    else:
        reporter.log(f"scoring {len(candidates)} candidate tasks with {version.name} ({members} members)")
        per_task = member_scores_per_task(ensemble, [(None, g.prompt, g.completions) for _, g in candidates],
                                          SCORE_BATCH)
        scored_by = "uncertainty" if method == "random" else method  # random picks still record a score
        scores = [task_informativeness(s, scored_by) for s in per_task]
    del ensemble
    config = SelectionConfig(method=method, random_share=float(run.config.get("random_share", 0.2)),
                             diversity_penalty=float(run.config.get("diversity_penalty", 0.5)),
                             seed=int(run.config.get("seed", run.pk)))
    picks = select_tasks(scores, [prompt_text(g.prompt) for _, g in candidates], wanted, config)
    chosen = {candidates[pick.index][0]: {"priority": float(wanted - pick.rank + 1),
                                          "selection": {**pick.to_json(), "pool": len(candidates)}}
              for pick in picks}
    random_picks = sum(pick.random_pick for pick in picks)
    reporter.log(f"picked {wanted} of {len(candidates)} candidates by {method} ({random_picks} at random)")
    return chosen, {**summary, "method": method, "random_picks": random_picks, "members": members}

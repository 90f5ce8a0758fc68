"""Training rounds: train a reward model -> DPO or PPO -> sample the next tasks with the new policy;
or InstructGPT's first step, an ``sft`` round: fine-tune the base policy on the project's
demonstrations -> sample the first ranking tasks with it.

Each step is a run; when a run of a round succeeds, :func:`round_advance` (called in the same
transaction that marks the run succeeded) enqueues the next step, so a round never skips or
repeats a step. A failed or cancelled step ends the round the same way (:func:`round_stop`).
Rankings: every stored ranking trains the reward model and DPO (earlier rounds' data included,
as in InstructGPT's iterated collection); gold tasks left out (quality checks served to every
labeler as honeypots; a run's ``inputs`` ``include_gold: true`` keeps them). Each round starts from the latest policy,
but DPO's reference and PPO's KL anchor stay the first (SFT) policy of the lineage: re-anchoring each
round let the drift compound (benchmarks/RESULTS.md, "The product loop: simulate_rounds").

An ``sft`` round starts from the project's base policy (``sft_base_policy``), not its latest one,
and trains on every demonstration no reviewer rejected (earlier ones included); it needs at least
one such demonstration instead of new rankings. The policy it makes becomes the project's latest,
so the next DPO or PPO round starts from it, and the lineage's reference from then on
(``labeling.selectors.runs.policy_lineage_root``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import ModelVersion, Project, Prompt, Ranking, Run, TrainingRound, default_project_id
from labeling.selectors.runs import prompts_with_fewest_tasks
from labeling.services.guard import guard_holds, guard_settings_check
from labeling.services.runs import run_enqueue
from labeling.services.task_selection import sample_step_inputs, selection_settings_check

DEFAULT_CONFIG = {
    "reward": {"epochs": 2},  # learning rate etc.: modeling.training.reward_config defaults
    # IPO rather than sigmoid DPO: on simulated rankings of the default policy it raised the held-out gold
    # score the most while staying closest to the start policy (benchmarks/RESULTS.md, "The loop closed").
    # lr 3e-5 rather than 1e-4: each round moves part of the way, and the next round (from the new policy, on all
    # rankings, same reference) moves further; at 1e-4 round 1 took the whole gain at 2.5x the KL and later rounds
    # only wandered (benchmarks/RESULTS.md, "The product loop: simulate_rounds").
    # stop_patience 0 (off): DPO's stop rule (modeling/training/dpo_guard.py) judges held-out implicit-reward
    # accuracy on heldout_fraction (0.1) of the round's ranking groups, which DPO then does not train on, and a
    # round with fewer than 2 ranking groups runs without it; on, it costs every DPO round data, and with 2 epochs
    # (one evaluation each) a patience of 3 could not fire. PPO's rule, below, costs no data and is on.
    "dpo": {"epochs": 2, "beta": 0.1, "learning_rate": 3e-5, "loss_type": "ipo", "stop_patience": 0},
    # 8 responses per prompt, each scored against its siblings (with one per prompt the advantage was mostly the
    # prompt's difficulty), and no value model: the leave-one-out mean is the baseline, as in RLOO; a critic
    # learned from scratch on a round's few thousand responses only added its error. 1,024 responses (128 prompts)
    # per iteration in 256-response steps: each step averages 4x more responses than before, so the KL it spends
    # follows the reward model rather than sampling noise. On the round-1 reward model this moved the held-out
    # gold score +0.007 / +0.005 (two sampling seeds) where 256 responses in 64-response steps with a critic
    # moved it -0.002 / -0.003 (benchmarks/RESULTS.md, "PPO without a critic, in bigger steps").
    "ppo": {"iterations": 10, "rollout_batch_size": 1024, "samples_per_prompt": 8, "minibatch_size": 256,
            "use_value_model": False, "kl_beta": 0.05, "learning_rate": 3e-5,
            # The reward-hacking guard (issue 19), on by default: PPO optimises the ensemble's mean minus lambda x
            # its spread ("uwo"; one reward model: its score) and stops, keeping the best iteration's policy, after
            # stop_patience iterations without a better conservative reward while the proxy rose (spread rule off).
            # From the measurement (benchmarks/RESULTS.md, "Reward hacking: the guard"): uwo beat min, patience 2 and 3
            # behaved alike and 5 stopped too late; the members' spread never rose, so its rule is off.
            "reward_aggregate": "uwo", "uwo_lambda": 1.0, "stop_patience": 3, "stop_spread_ratio": 0.0},
    # These samples train the next round, so they are the policy's own distribution: temperature 1, no
    # nucleus cut (top_p 1.0) and re-draws for distinct texts at the same temperature. On the default policy,
    # DPO on top_p 0.95 samples with hotter re-draws lowered the held-out gold score (0.786 -> 0.775); on
    # plain samples of the same prompts it did not (0.786 -> 0.788) (benchmarks/RESULTS.md).
    # Active task selection (labeling.services.task_selection) is a setting, "random" by default: at 1,000 to 8,000
    # rankings (a last-layer ensemble on frozen features, 3 seeds) uncertainty and variance picks stayed 0.5-2
    # points behind random at every budget, and the 40 %-fewer goal was never met (benchmarks/RESULTS.md, "Active
    # task selection"); it was ahead only at 30-90 rankings. With selection on: candidates = pool_factor x the
    # tasks wanted, a random_share of the picks drawn at random, a diversity_penalty on near-duplicate prompts.
    "sample": {"k": 4, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 48, "redraw_heat": 1.0, "canary_share": 0.05,
               "selection": "random", "pool_factor": 3, "random_share": 0.2, "diversity_penalty": 0.5},
    # canary_share: the share of a DPO or PPO round's new tasks set aside as canaries (at least one when above 0),
    # ranked like any task but never trained on: they check the reward model on the new policy (services/guard.py).
    # SFT on labelers' demonstrations (modeling.training.sft_config defaults otherwise).
    "sft": {"epochs": 2, "learning_rate": 1e-4, "batch_size": 16},
}


# A PPO round's reward model is an ensemble of 4 full members unless its settings say otherwise: the guard's
# conservative reward (mean minus the members' spread) needs members, and against one model PPO lost 0.031
# held-out gold at KL 0.94 where the 4-member uwo run stayed within one SE of its start out to KL 1.0
# (benchmarks/RESULTS.md, "Reward hacking: the guard"). It costs 4x the reward step. DPO rounds train one
# model: DPO learns from the rankings themselves, and their reward model only monitors and checks canaries.
PPO_REWARD_ENSEMBLE = 4


def _merged(config: dict | None, project: Project | None = None) -> dict:
    """The round's settings: the built-in defaults, then the project's reward base and round defaults,
    then ``config`` (the form's or the caller's), each a {section: {key: value}} over the last."""
    merged = {section: dict(values) for section, values in DEFAULT_CONFIG.items()}
    reward_base = (project.reward_base if project is not None else "") or settings.RLHF_REWARD_BASE_MODEL
    if reward_base:
        merged["reward"]["base_model"] = reward_base
    layers = [(project.round_defaults if project is not None else None, "round_defaults"), (config, "config")]
    for layer, field in layers:
        for section, values in (layer or {}).items():
            if section not in merged or not isinstance(values, dict):
                raise RejectedInput(f"Unknown round setting {section!r}.", field=field)
            merged[section].update(values)
    guard_settings_check(merged)
    return merged


def round_settings(*, project: Project) -> dict:
    """What a round of ``project`` runs with before the form's choices: the page's starting values."""
    return _merged(None, project)


def round_defaults_check(round_defaults) -> None:
    """Refuse a project's ``round_defaults`` that a round could not use (a section other than
    reward / dpo / ppo / sample, or a section that is not an object)."""
    if not isinstance(round_defaults, dict):
        raise RejectedInput("Round defaults must be an object of sections.", field="round_defaults")
    try:
        selection_settings_check(_merged(round_defaults)["sample"])
    except RejectedInput as exc:
        raise RejectedInput(exc.message, field="round_defaults") from None


def _new_rankings_since_last_round(project: Project) -> int:
    last = (TrainingRound.objects.filter(project=project, status=TrainingRound.Status.SUCCEEDED)
            .order_by("-created_at").first())
    rankings = Ranking.objects.filter(task__prompt__project=project)
    return rankings.filter(created_at__gt=last.created_at).count() if last else rankings.count()


def starting_policy(project: Project) -> ModelVersion | None:
    """The policy a project's next round improves: its latest policy version; a project with none yet
    starts from its ``base_policy``, else from the first policy of ``default`` (the bootstrapped SFT
    policy or the one registered by path), which it never changes."""
    latest = ModelVersion.objects.filter(project=project, kind=ModelVersion.Kind.POLICY).order_by("-created_at", "-id")
    first = ModelVersion.objects.filter(project_id=default_project_id(), kind=ModelVersion.Kind.POLICY,
                                        parent__isnull=True).order_by("created_at", "id")
    return latest.first() or project.base_policy or first.first()


def sft_base_policy(project: Project) -> ModelVersion | None:
    """The policy an ``sft`` round fine-tunes: the project's ``base_policy``, else the first policy of
    ``default`` (InstructGPT fine-tunes the pretrained model, not a policy already tuned on rankings)."""
    first = ModelVersion.objects.filter(project_id=default_project_id(), kind=ModelVersion.Kind.POLICY,
                                        parent__isnull=True).order_by("created_at", "id")
    return project.base_policy or first.first()


def _check_training_data(project: Project, algo: str, minimum: int) -> None:
    """Refuse a round without its data: demonstrations for ``sft``, ``minimum`` new rankings otherwise."""
    if algo == TrainingRound.Algo.SFT:
        from labeling.selectors.demonstrations import demonstrations_selected

        if not demonstrations_selected(project=project).exists():
            raise RejectedInput("There are no demonstrations to fine-tune on: labelers write them first.",
                                field="demonstrations", status=409)
        return
    new = _new_rankings_since_last_round(project)
    if new < minimum:
        raise RejectedInput(f"Only {new} new rankings since the last round; a round needs at least {minimum}.",
                            field="rankings", status=409)


def round_start(*, algo: str, created_by=None, config: dict | None = None, prompt_ids: list[int] | None = None,
                min_new_rankings: int | None = None, project: Project | None = None) -> TrainingRound:
    """Start a round of ``project`` (``default`` without one) from its starting policy, or refuse with a
    message and write nothing. The round reads only the project's rankings and prompts, and its new
    versions belong to the project: no other project's loop moves."""
    project = project or Project.objects.get(pk=default_project_id())
    if algo not in TrainingRound.Algo.values:
        raise RejectedInput(f"Choose the algorithm: {' or '.join(TrainingRound.Algo.values)}.", field="algo")
    merged = _merged(config, project)
    merged["reward"].setdefault("ensemble", PPO_REWARD_ENSEMBLE if algo == TrainingRound.Algo.PPO else 1)
    selection_settings_check(merged["sample"])
    k = merged["sample"].get("k")
    if isinstance(k, int) and not project.k_min <= k <= project.k_max:
        raise RejectedInput(f"This project's tasks have {project.k_min} to {project.k_max} completions; "
                            f"a round cannot sample {k}.", field="k")
    minimum = settings.ROUND_MIN_NEW_RANKINGS if min_new_rankings is None else min_new_rankings
    with transaction.atomic():
        active = TrainingRound.objects.filter(project=project, active=True).first()
        if active is not None:
            raise RejectedInput(f"Round {active.pk} is still running; wait for it or cancel it.", field="round",
                                status=409)
        policy = sft_base_policy(project) if algo == TrainingRound.Algo.SFT else starting_policy(project)
        if policy is None:
            raise RejectedInput("There is no policy yet: train the default policy first.", field="policy", status=409)
        _check_training_data(project, algo, minimum)
        if prompt_ids is None:
            prompt_ids = prompts_with_fewest_tasks(count=settings.ROUND_SAMPLE_PROMPTS, project=project)
        elif Prompt.objects.filter(pk__in=prompt_ids, project=project).count() != len(set(prompt_ids)):
            raise RejectedInput("Some of the chosen prompts do not exist.", field="prompt_ids")
        if not prompt_ids:
            raise RejectedInput("There are no prompts for the new policy to sample: import prompts first.",
                                field="prompt_ids")
        try:
            with transaction.atomic():
                training_round = TrainingRound.objects.create(
                    algo=algo, config=merged, policy_in=policy, prompt_ids=list(prompt_ids), created_by=created_by,
                    project=project,
                )
        except IntegrityError:  # another admin started one at the same moment
            raise RejectedInput("Another round was just started.", field="round", status=409) from None
        first_step = Run.Kind.SFT if algo == TrainingRound.Algo.SFT else Run.Kind.TRAIN_REWARD
        _enqueue_step(training_round, first_step, created_by=created_by)
    return training_round


def _enqueue_step(training_round: TrainingRound, kind: str, *, created_by=None) -> Run:
    config = training_round.config
    if kind == Run.Kind.TRAIN_REWARD:
        step_config, inputs = config["reward"], {"round": training_round.pk}
    elif kind in (Run.Kind.DPO, Run.Kind.SFT):
        step_config = config[kind]
        inputs = {"round": training_round.pk, "policy_version": training_round.policy_in_id}
        if kind == Run.Kind.DPO:  # its labeler reliability weighs DPO's pairs (labeling/jobs/policy.py)
            inputs["reward_version"] = training_round.reward_id
    elif kind == Run.Kind.PPO:
        rollout_prompts = list(Prompt.objects.filter(project=training_round.project_id, tasks__rankings__isnull=False)
                               .distinct()
                               .values_list("pk", flat=True)) or training_round.prompt_ids
        step_config = config["ppo"]
        inputs = {"round": training_round.pk, "policy_version": training_round.policy_in_id,
                  "reward_version": training_round.reward_id, "prompt_ids": rollout_prompts}
    else:
        step_config = config["sample"]
        inputs = {"round": training_round.pk, "policy_version": training_round.policy_out_id,
                  "prompt_ids": training_round.prompt_ids, **sample_step_inputs(training_round)}
    run = run_enqueue(kind=kind, config=step_config, inputs=inputs, created_by=created_by,
                      project=training_round.project)
    Run.objects.filter(pk=run.pk).update(training_round=training_round)
    return run


def round_advance(*, run: Run, outputs: dict) -> None:
    """After a step succeeded: record what it made and enqueue the next step, or finish the round."""
    if run.training_round_id is None:
        return
    training_round = TrainingRound.objects.select_for_update().get(pk=run.training_round_id)
    if not training_round.active:
        return
    if run.kind == Run.Kind.TRAIN_REWARD:
        training_round.reward_id = outputs["model_version"]
        training_round.save(update_fields=["reward"])
        _enqueue_step(training_round, training_round.algo)
    elif run.kind in (Run.Kind.DPO, Run.Kind.PPO, Run.Kind.SFT):
        training_round.policy_out_id = outputs["model_version"]
        training_round.save(update_fields=["policy_out"])
        _enqueue_step(training_round, Run.Kind.SAMPLE)
    else:
        training_round.status, training_round.active = TrainingRound.Status.SUCCEEDED, False
        training_round.finished_at = timezone.now()
        training_round.save(update_fields=["status", "active", "finished_at"])


def round_stop(*, run_id: int, status: str, error: str = "") -> None:
    """A step failed or was cancelled: the round ends with that status (retrying the step revives it)."""
    run = Run.objects.filter(pk=run_id).only("training_round").first()
    if run is None or run.training_round_id is None:
        return
    TrainingRound.objects.filter(pk=run.training_round_id, active=True).update(
        status=status, active=False, finished_at=timezone.now(), error=error[:2000]
    )


def round_revive(*, run: Run) -> None:
    """A failed step is being retried: its round runs again, unless another round is active now."""
    if run.training_round_id is None or TrainingRound.objects.filter(project=run.project_id, active=True).exists():
        return
    TrainingRound.objects.filter(pk=run.training_round_id, status=TrainingRound.Status.FAILED).update(
        status=TrainingRound.Status.RUNNING, active=True, finished_at=None, error=""
    )


def round_autostart() -> list[TrainingRound]:
    """Start a round in each project where its auto-start count of new rankings has arrived (the project's
    ``auto_start_every``, else ``ROUND_AUTO_START_EVERY``; 0 never) and none is running, with its
    ``auto_algo`` (else ``ROUND_AUTO_ALGO``). Returns the rounds started."""
    started = []
    busy = TrainingRound.objects.filter(active=True).values("project")
    for project in Project.objects.exclude(pk__in=busy):
        every = settings.ROUND_AUTO_START_EVERY if project.auto_start_every is None else project.auto_start_every
        if not every:
            continue
        if guard_holds(project=project, check=_new_rankings_since_last_round(project) >= every):
            continue  # a canary warning no manager acknowledged yet (labeling/services/guard.py)
        try:
            started.append(round_start(algo=project.auto_algo or settings.ROUND_AUTO_ALGO, min_new_rankings=every,
                                       project=project))
        except RejectedInput:
            continue
    return started

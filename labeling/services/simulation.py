"""The whole product loop with simulated labelers, for proof and for end-to-end tests.

With ``demonstrations`` above 0 the loop starts as InstructGPT does: simulated labelers write that
many demonstrations through the services the write page uses (``demonstration_assign_next`` and
``demonstration_submit``; each the best, as the labeler perceives it, of several good answers:
``SimulatedLabeler.write``), an ``sft`` round fine-tunes the first policy on them and samples the
first ranking tasks with the result, and the ranking rounds go on from the SFT policy.

With active task selection (``--selection``, the round's ``sample.selection``), each round also stores
``ceil(pool_factor x prompts_per_round)`` - ``prompts_per_round`` spare prompts, whatever the selection,
so both arms of a comparison hold the same prompts: the round is given its ``prompts_per_round`` prompts
and its sample step draws the rest of its candidates from the prompts with the fewest tasks. Every arm
makes ``prompts_per_round`` tasks a round and every task is ranked by its ``required_rankings`` labelers
(each labeler takes tasks in lease order, highest priority first, until none is open): the same ranking
budget whatever the selection.

Each ranking round: simulated labelers (``modeling.simulation.oracle``) take tasks with ``task_assign_next`` and submit
with ``ranking_submit`` -- the same services the labeler page uses -- then ``round_start`` runs the
reward model, DPO or PPO and sampling on the Celery workers, and the new policy is judged on
held-out prompts by the hidden gold score and its KL to the first policy.
"""
from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from labeling.models import Completion, ModelVersion, Prompt, Run, TrainingRound
from labeling.services.assignment import task_assign_next
from labeling.services.loop import loop_bootstrap
from labeling.services.prompts import prompt_fields, prompt_value
from labeling.services.ranking import ranking_submit
from labeling.services.rounds import DEFAULT_CONFIG, round_start
from labeling.services.runs import run_enqueue

QUICK_ROUND = {  # tiny settings for smoke tests: seconds per step on a tiny policy
    "reward": {"epochs": 1, "max_length": 48, "completions_per_batch": 16},
    "dpo": {"epochs": 1, "max_length": 64, "kl_prompts": 2, "kl_max_new_tokens": 6},
    "ppo": {"iterations": 1, "rollout_batch_size": 4, "samples_per_prompt": 2, "generation_batch_size": 4,
            "minibatch_size": 2, "ppo_epochs": 1, "max_new_tokens": 8},
    "sample": {"k": 3, "max_new_tokens": 8},
    "sft": {"epochs": 1, "max_length": 64, "batch_size": 8},
}
QUICK_BOOTSTRAP = {"size": "tiny", "steps": 20, "batch_size": 8, "eval_prompts": 0, "vocab_size": 400}


@dataclass
class SimulationConfig:
    rounds: int = field(default=3, metadata={"help": "training rounds to run"})
    algo: str = field(default="dpo", metadata={"help": "dpo or ppo"})
    labelers: int = field(default=3, metadata={"help": "simulated labelers (each ranks every task)"})
    prompts_per_round: int = field(default=60, metadata={"help": "new prompts sampled K ways per round"})
    eval_prompts: int = field(default=40, metadata={"help": "held-out prompts for the gold score and KL"})
    samples_per_prompt: int = field(default=32, metadata={
        "help": "samples per held-out prompt (32 x 150 prompts: a paired SE of ~0.004)"})
    round_config: dict = field(default_factory=dict, metadata={"help": "round settings (see rounds.DEFAULT_CONFIG)"})
    bootstrap_config: dict = field(default_factory=dict, metadata={"help": "default-policy settings if none exists"})
    timeout_seconds: int = field(default=3 * 3600, metadata={"help": "give up waiting for a run after this"})
    policy_path: str = field(default="", metadata={"help": "first policy checkpoint; empty = bootstrap one"})
    same_quality: float | None = field(default=None, metadata={
        "help": "labelers tie gold scores closer than this (None: the oracle's default)"})
    demonstrations: int = field(default=0, metadata={
        "help": "demonstrations the simulated labelers write for an SFT round before the ranking rounds (0: none)"})


def _wait(run_or_round, *, timeout: float, on_progress: Callable[[str], None]) -> None:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        run_or_round.refresh_from_db()
        if isinstance(run_or_round, TrainingRound):
            current = run_or_round.runs.order_by("-pk").first()
            line = f"  round {run_or_round.pk}: {current.kind} {current.status} {current.progress:.0f}%" if current else ""
            done = not run_or_round.active
        else:
            line = f"  {run_or_round.kind} {run_or_round.status} {run_or_round.progress:.0f}%"
            done = run_or_round.status not in (Run.Status.QUEUED, Run.Status.RUNNING)
        if line != last:
            on_progress(line)
            last = line
        if done:
            return
        time.sleep(1)
    raise TimeoutError(f"{run_or_round} did not finish within {timeout:.0f}s")


def simulated_labelers_rank_open_tasks(*, names: list[str], same_quality: float | None = None) -> int:
    """Every simulated labeler ranks every task still open to them; returns rankings submitted."""
    from modeling.simulation.oracle import LabelerConfig, SimulatedLabeler

    config = LabelerConfig() if same_quality is None else LabelerConfig(same_quality=same_quality)
    submitted = 0
    for name in names:
        user, _ = get_user_model().objects.get_or_create(username=name)
        oracle = SimulatedLabeler(name, config)
        while (assignment := task_assign_next(labeler=user)) is not None:
            texts = dict(Completion.objects.filter(task=assignment.task).values_list("pk", "text"))
            shown = assignment.display_order
            tiers = oracle.rank(prompt_value(assignment.task.prompt), [texts[cid] for cid in shown])
            ranking_submit(labeler=user, assignment_id=assignment.pk, submission_id=uuid.uuid4().hex,
                           tiers=[[shown[i] for i in tier] for tier in tiers], seconds=1.0)
            submitted += 1
    return submitted


def simulated_labelers_write_open_tasks(*, names: list[str]) -> int:
    """The simulated labelers take turns writing the demonstration tasks open to them (one lease each
    per turn, so the work is spread); returns demonstrations submitted."""
    from modeling.simulation.oracle import SimulatedLabeler

    from labeling.services.demonstrations import demonstration_assign_next, demonstration_submit

    writers = [(get_user_model().objects.get_or_create(username=name)[0], SimulatedLabeler(name)) for name in names]
    written, busy = 0, True
    while busy:
        busy = False
        for user, oracle in writers:
            lease = demonstration_assign_next(labeler=user)
            if lease is None:
                continue
            source = lease.task.source_completion
            text = oracle.write(prompt_value(lease.task.prompt), start_from=source.text if source else "")
            demonstration_submit(labeler=user, assignment_id=lease.pk, submission_id=uuid.uuid4().hex, text=text,
                                 seconds=1.0)
            written, busy = written + 1, True
    return written


def _prompts(kind: str, count: int, seed: int, exclude: frozenset[str] = frozenset()) -> list[Prompt]:
    """``count`` generated prompts (``exclude``'s texts skipped), stored once under stable external ids."""
    from modeling.simulation.instructions import generate_prompts, instruction_type

    texts = [t for t in generate_prompts(4 * count, seed=seed) if t not in exclude][:count]
    prompts = []
    for number, text in enumerate(texts):
        prompt, _ = Prompt.objects.get_or_create(
            external_id=f"sim-{kind}-{seed}-{number:04d}",
            defaults={**prompt_fields(text), "metadata": {"type": instruction_type(text)}})
        prompts.append(prompt)
    return prompts


def held_out_texts(count: int, seed: int = 9000) -> list[str]:
    """``count`` distinct prompts drawn before any training prompt and never trained on.

    The templates have about a thousand distinct prompts, so drawing the held-out set first (and
    removing it from training) keeps every instruction type in the evaluation.
    """
    from modeling.simulation.instructions import generate_prompts

    return list(dict.fromkeys(generate_prompts(4 * count, seed=seed)))[:count]


def _first_policy(config: SimulationConfig, on_progress: Callable[[str], None]) -> ModelVersion:
    policy = ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY).order_by("-created_at", "-id").first()
    if policy is None:
        on_progress(f"first policy: {config.policy_path or 'bootstrapping the default policy'}")
        bootstrap = loop_bootstrap(sample_prompts=0, config=config.bootstrap_config, policy_path=config.policy_path)
        if bootstrap is not None:
            _wait(bootstrap, timeout=config.timeout_seconds, on_progress=on_progress)
        policy = ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY).order_by("-created_at", "-id").first()
        if policy is None:
            raise RuntimeError(f"bootstrap failed: {Run.objects.get(pk=bootstrap.pk).error}")
    return policy


def _round_prompts(config: SimulationConfig, number: int, unseen: frozenset[str]) -> list[int]:
    """The ``prompts_per_round`` prompts of round ``number``, after storing its spare candidates (module doc)."""
    chosen = _prompts("train", config.prompts_per_round, seed=1 + number, exclude=unseen)
    sample = {**DEFAULT_CONFIG["sample"], **config.round_config.get("sample", {})}
    spare = math.ceil(sample["pool_factor"] * len(chosen)) - len(chosen)
    if spare > 0:
        _prompts("pool", spare, seed=1000 + number, exclude=unseen | {p.text for p in chosen})
    return [p.pk for p in chosen]


def _round(algo: str, config: SimulationConfig, prompt_ids: list[int],
           on_progress: Callable[[str], None]) -> TrainingRound:
    training_round = round_start(algo=algo, config=config.round_config, min_new_rankings=1, prompt_ids=prompt_ids)
    _wait(training_round, timeout=config.timeout_seconds, on_progress=on_progress)
    if training_round.status != TrainingRound.Status.SUCCEEDED:
        raise RuntimeError(f"round {training_round.pk} {training_round.status}: {training_round.error}")
    return training_round


def _write_demonstrations(config: SimulationConfig, labelers: list[str], unseen: frozenset[str]) -> int:
    """``config.demonstrations`` write tasks on fresh training prompts, written by the simulated labelers."""
    from labeling.services.demonstrations import demonstration_tasks_create

    prompts = _prompts("demo", config.demonstrations, seed=100, exclude=unseen)
    demonstration_tasks_create(project=prompts[0].project, prompts=prompts, required=1,
                               task_set="simulation-demonstrations")
    return simulated_labelers_write_open_tasks(names=labelers)


def simulation_run(*, config: SimulationConfig, on_progress: Callable[[str], None] = print) -> list[dict]:
    """Run the SFT round (with ``config.demonstrations``) and ``config.rounds`` ranking rounds; return one
    row of figures per policy (row 0 = the first policy; ``step``: start, sft, dpo or ppo)."""
    from modeling.simulation.evaluation import gold_of_samples, kl_to_reference, paired_standard_error, win_rate

    first = _first_policy(config, on_progress)
    held_out = held_out_texts(config.eval_prompts)
    unseen = frozenset(held_out)
    scored = {}

    def judge(policy: ModelVersion, step: str, **extra) -> dict:
        """A row for ``policy``: its held-out gold score, and its gain over the previous row's policy (every
        policy is sampled with the same seed, so positions pair up), win rate and KL against the first."""
        scores = gold_of_samples(policy.path, held_out, samples_per_prompt=config.samples_per_prompt)
        row = {"round": len(scored), "step": step, "policy": policy.name, **extra,
               "gold": sum(scores) / len(scores), "win_rate": 0.5, "kl": 0.0}
        if scored:
            previous, baseline = scored[len(scored) - 1], scored[0]
            row.update(win_rate=win_rate(scores, baseline), gain=(sum(scores) - sum(previous)) / len(scores),
                       gain_se=paired_standard_error(scores, previous),
                       kl=kl_to_reference(policy.path, first.path, held_out))
            on_progress(f"round {row['round']} ({step}, {policy.name}): gold {row['gold']:.3f} ({row['gain']:+.3f} "
                        f"± {row['gain_se']:.3f}), win rate vs first {row['win_rate']:.3f}, KL to first {row['kl']:.3f}")
        else:
            on_progress(f"round 0 ({policy.name}): gold {row['gold']:.3f}")
        scored[len(scored)] = scores
        return row

    rows = [judge(first, "start")]
    labelers = [f"sim-labeler-{i + 1}" for i in range(config.labelers)]
    first_prompts = [p.pk for p in _prompts("train", config.prompts_per_round, 1, unseen)]
    if config.demonstrations:
        written = _write_demonstrations(config, labelers, unseen)
        on_progress(f"{written} demonstrations written; SFT round")
        training_round = _round("sft", config, first_prompts, on_progress)  # its sample step makes the first tasks
        rows.append(judge(training_round.policy_out, "sft", demonstrations=written))
    else:
        sample_config = {**DEFAULT_CONFIG["sample"], **config.round_config.get("sample", {})}  # as a round samples
        initial = run_enqueue(kind=Run.Kind.SAMPLE, config=sample_config,
                              inputs={"policy_version": first.pk, "prompt_ids": first_prompts})
        _wait(initial, timeout=config.timeout_seconds, on_progress=on_progress)
    for number in range(1, config.rounds + 1):
        rankings = simulated_labelers_rank_open_tasks(names=labelers, same_quality=config.same_quality)
        training_round = _round(config.algo, config, _round_prompts(config, number, unseen), on_progress)
        sampled = training_round.runs.filter(kind=Run.Kind.SAMPLE).order_by("-pk").first()
        rows.append(judge(training_round.policy_out, config.algo, rankings=rankings,
                          reward_accuracy=training_round.reward.metrics.get("reward/accuracy"),
                          selection=training_round.config["sample"]["selection"],
                          tasks=sampled.outputs.get("tasks_created") if sampled else None))
    return rows

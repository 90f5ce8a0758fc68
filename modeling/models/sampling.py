"""K distinct sampled completions per prompt from a policy: what becomes a labeling task.

Prompts (strings or conversations) are tokenized once each by the policy's own chat template
(:func:`modeling.formats.chat_format.encode_prompt`, with the generation prompt), left-padded in
batches of prompts, and expanded to K sequences each by ``generate(num_return_sequences=K)`` with the
KV cache on; generation stops at EOS. Texts that repeat one already drawn for the same prompt are
re-drawn, a bounded number of times, so the K completions shown to a labeler differ.

The draws come from a backend: ``generate`` (this module, the default: the policy in this process)
or ``vllm`` (:mod:`modeling.models.vllm_sampling`: a vLLM engine in its own environment, for a GPU).
Both apply the same re-draw and distinct-completion rule (:func:`sample_rounds`) and record the
backend with the settings.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from transformers import GenerationConfig

from modeling.formats.chat_format import left_padded_prompts
from modeling.formats.conversation import Prompt, prompt_to_json
from modeling.models.tokenizer import decode_completion
from modeling.config_fields import help_field as _help


@dataclass
class SamplingSettings:
    """How completions were drawn; recorded with every SampleGroup."""

    k: int = _help("completions wanted per prompt", 4)
    temperature: float = _help("softmax temperature (higher: more varied)", 1.0)
    top_p: float = _help("nucleus sampling: smallest token set with this probability mass", 0.95)
    max_new_tokens: int = _help("longest completion, in tokens", 64)
    seed: int = _help("torch seed set before sampling; same inputs and seed give the same texts", 0)
    max_redraws: int = _help("rounds of re-drawing duplicates before giving up on distinctness", 4)
    redraw_heat: float = _help("temperature multiplier per re-draw round, so a confident policy still varies", 1.3)
    prompt_batch_size: int = _help("prompts per generate() call, each expanded to k sequences", 32)
    backend: str = _help("what draws the samples: generate (this process) or vllm (a vLLM engine)", "generate")

    def check(self) -> None:
        """ValueError for settings no backend can sample with."""
        if self.k < 1 or not 0 < self.top_p <= 1 or self.temperature <= 0 or self.max_new_tokens < 1:
            raise ValueError("need k >= 1, 0 < top_p <= 1, temperature > 0 and max_new_tokens >= 1")


@dataclass
class SampleGroup:
    """One prompt and its distinct completions (fewer than k only if re-draws ran out)."""

    prompt: Prompt
    completions: list[str]
    settings: dict = field(default_factory=dict)
    redraws: int = 0  # re-draw rounds this prompt needed

    def to_json(self) -> dict:
        """The samples-JSONL line: ``{"prompt", "completions", "settings"}``."""
        return {"prompt": prompt_to_json(self.prompt), "completions": self.completions, "settings": self.settings}


def policy_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _encode_prompts(tokenizer, prompts: list[Prompt], device) -> dict[str, torch.Tensor]:
    """Left-padded ``input_ids`` and ``attention_mask`` for the prompts in the policy's chat format."""
    input_ids, attention_mask = left_padded_prompts(tokenizer, prompts, device)
    return {"input_ids": input_ids, "attention_mask": attention_mask}


@torch.no_grad()
def _generate(model, tokenizer, inputs: dict, generation: GenerationConfig, per_prompt: int) -> list[list[str]]:
    """``per_prompt`` decoded completions for each prompt of ``inputs``."""
    generation = copy.copy(generation)
    generation.num_return_sequences = per_prompt
    output = model.generate(**inputs, generation_config=generation)
    new_tokens = output[:, inputs["input_ids"].shape[1]:].tolist()  # (prompts * per_prompt, new)
    texts = [decode_completion(tokenizer, ids) for ids in new_tokens]
    return [texts[i : i + per_prompt] for i in range(0, len(texts), per_prompt)]


def sample(
    policy, tokenizer, prompts: list[Prompt], k: int = 4, temperature: float = 1.0, top_p: float = 0.95,
    max_new_tokens: int = 64, seed: int = 0, max_redraws: int = 4, redraw_heat: float = 1.3,
    prompt_batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> list[SampleGroup]:
    """K distinct sampled completions for each prompt, in prompt order.

    Duplicate and empty texts (an immediate EOS; the rankings format needs text) are re-drawn for up
    to ``max_redraws`` rounds, each round drawing k fresh
    sequences for the prompts still short, at ``temperature * redraw_heat ** round``; a prompt
    whose policy still cannot produce k distinct texts keeps the distinct ones it has.
    ``progress(done, total)`` is called after each batch of prompts. The policy is moved to
    :func:`policy_device` and put in eval mode.
    """
    settings = SamplingSettings(k, temperature, top_p, max_new_tokens, seed, max_redraws, redraw_heat,
                                prompt_batch_size)
    settings.check()
    generation = GenerationConfig(
        do_sample=True, temperature=temperature, top_p=top_p, top_k=0, max_new_tokens=max_new_tokens,
        use_cache=True, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    device = policy_device()
    policy.to(device).eval()
    torch.manual_seed(seed)
    groups = []
    for start in range(0, len(prompts), prompt_batch_size):
        batch = prompts[start : start + prompt_batch_size]
        groups.extend(_sample_batch(policy, tokenizer, batch, generation, settings, device))
        if progress:
            progress(min(start + prompt_batch_size, len(prompts)), len(prompts))
    return groups


def sample_rounds(prompts: list[Prompt], settings: SamplingSettings,
                  draw: Callable[[list[int], float, int], list[list[str]]]) -> list[SampleGroup]:
    """The re-draw and distinct-completion rule, whatever draws the texts.

    ``draw(prompt indexes, temperature, round)`` returns ``settings.k`` decoded texts for each of the
    given prompts. Round r draws for the prompts still short of k distinct non-empty texts, at
    ``temperature * redraw_heat ** r``, for at most ``max_redraws`` re-draw rounds.
    """
    record = asdict(settings)
    groups = [SampleGroup(prompt, [], dict(record)) for prompt in prompts]
    short = list(range(len(prompts)))
    for round_ in range(settings.max_redraws + 1):
        for index, drawn in zip(short, draw(short, settings.temperature * settings.redraw_heat ** round_, round_)):
            group = groups[index]
            group.redraws = round_
            for text in drawn:
                if text and len(group.completions) < settings.k and text not in group.completions:
                    group.completions.append(text)
        short = [i for i in short if len(groups[i].completions) < settings.k]
        if not short:
            break
    return groups


def _sample_batch(policy, tokenizer, prompts, generation, settings: SamplingSettings, device) -> list[SampleGroup]:
    """Sample one batch of prompts with ``generate()``, re-drawing for those short of k distinct texts."""
    encoded = _encode_prompts(tokenizer, prompts, device)  # once; re-draws reuse its rows

    def draw(short: list[int], temperature: float, _round: int) -> list[list[str]]:
        rows = torch.tensor(short, device=device)
        hotter = copy.copy(generation)
        hotter.temperature = temperature
        return _generate(policy, tokenizer, {name: tensor[rows] for name, tensor in encoded.items()}, hotter,
                         settings.k)

    return sample_rounds(prompts, settings, draw)


@torch.no_grad()
def greedy_completions(model, tokenizer, prompts: list[Prompt], max_new_tokens: int = 64,
                       prompt_batch_size: int = 16) -> list[str]:
    """The greedy (most likely) completion of each prompt, for evaluation."""
    generation = GenerationConfig(do_sample=False, max_new_tokens=max_new_tokens, use_cache=True,
                                  eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    device = policy_device()
    model.to(device).eval()
    texts = []
    for start in range(0, len(prompts), prompt_batch_size):
        inputs = _encode_prompts(tokenizer, prompts[start : start + prompt_batch_size], device)
        texts.extend(group[0] for group in _generate(model, tokenizer, inputs, generation, 1))
    return texts


def sample_checkpoint(path: str, prompts: list[Prompt], *, backend: str = "generate",
                      progress: Callable[[int, int], None] | None = None, **options) -> list[SampleGroup]:
    """:func:`sample` from a checkpoint directory, drawn by ``backend`` (generate, vllm or auto: see
    :mod:`modeling.models.vllm_sampling`); InputError (one line) when the backend cannot run here."""
    from modeling.models.policy_model import load_policy, load_tokenizer
    from modeling.models.vllm_sampling import backend_choose, sample_with_vllm

    chosen = backend_choose(backend)
    if chosen == "generate":
        policy, tokenizer = load_policy(path, policy_device())
        return sample(policy, tokenizer, prompts, progress=progress, **options)
    settings = SamplingSettings(**options, backend="vllm")
    settings.check()
    return sample_with_vllm(path, load_tokenizer(path), prompts, settings, progress)

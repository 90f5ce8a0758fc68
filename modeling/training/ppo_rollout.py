"""PPO rollouts: batched generation with the KV cache, per-token log-probs and values, RM scores.

A rollout batch is laid out as ``[left-padded prompt | right-padded response]``: ``input_ids``
``(B, P + T)`` with the prompt width ``P`` shared by all rows, and ``response_mask`` ``(B, T)`` that is
1 on response tokens up to and including the first EOS. Position ids always come from the attention
mask (:mod:`modeling.models.logprobs`), so the left padding of prompts does not shift positions.

The reward model may use another tokenizer than the policy (the default is a BERT encoder): the
policy's response is decoded to text and re-tokenized for the reward model with the prompt.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from modeling.formats.chat_format import left_padded_prompts
from modeling.formats.conversation import Prompt
from modeling.models.logprobs import entropy_from_logits, forward_logits, gather_logprobs, position_ids_from_mask
from modeling.models.policy_model import disable_dropout
from modeling.models.tokenizer import decode_completion

ScoreFn = Callable[[Sequence[Prompt], Sequence[str]], torch.Tensor]  # (prompts, completions) -> (B,) or (B, M) scores


@dataclass
class Responses:
    input_ids: torch.Tensor  # (B, P + T) left-padded prompts then right-padded responses
    attention_mask: torch.Tensor  # (B, P + T)
    response_mask: torch.Tensor  # (B, T) response tokens up to and including the first EOS
    ended: torch.Tensor  # (B,) bool, the response ended with EOS before the length limit
    prompt_width: int  # P
    texts: list[str]  # (B,) decoded responses


@torch.no_grad()
def generate_responses(model, tokenizer, prompts: Sequence[Prompt], *, max_new_tokens: int,
                       temperature: float = 1.0, batch_size: int = 64) -> Responses:
    """Sample one response per prompt, ``batch_size`` prompts per ``generate`` call (KV cache on)."""
    from transformers import GenerationConfig

    device = next(model.parameters()).device
    prompt_ids, prompt_mask = left_padded_prompts(tokenizer, prompts, device)
    generation = GenerationConfig(do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                                  max_new_tokens=max_new_tokens, use_cache=True,
                                  eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    was_training = model.training
    model.eval()
    pieces = []
    for start in range(0, len(prompts), batch_size):
        ids, mask = prompt_ids[start : start + batch_size], prompt_mask[start : start + batch_size]
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=generation)
        pieces.append(out[:, ids.shape[1] :])
    model.train(was_training)
    width = max(p.shape[1] for p in pieces)
    responses = torch.cat([nn.functional.pad(p, (0, width - p.shape[1]), value=tokenizer.pad_token_id)
                           for p in pieces])  # (B, T)
    is_eos = responses == tokenizer.eos_token_id
    ended = is_eos.any(dim=1)
    positions = torch.arange(width, device=device).unsqueeze(0)  # (1, T)
    first_eos = torch.where(ended, is_eos.float().argmax(dim=1), width)  # (B,)
    response_mask = (positions <= first_eos.unsqueeze(1)).long()  # (B, T)
    responses = torch.where(response_mask.bool(), responses, tokenizer.pad_token_id)
    texts = [decode_completion(tokenizer, row) for row in responses.tolist()]
    return Responses(
        input_ids=torch.cat([prompt_ids, responses], dim=1),
        attention_mask=torch.cat([prompt_mask, response_mask], dim=1),
        response_mask=response_mask, ended=ended, prompt_width=prompt_ids.shape[1], texts=texts,
    )


def response_logprobs(model, input_ids, attention_mask, prompt_width: int, with_entropy: bool = False):
    """Log-prob (and optionally entropy) of each response token under ``model``, ``(B, T)`` each."""
    logits = forward_logits(model, input_ids, attention_mask)[:, prompt_width - 1 : -1]  # (B, T, V)
    logps = gather_logprobs(logits, input_ids[:, prompt_width:])
    return (logps, entropy_from_logits(logits)) if with_entropy else (logps, None)


def response_values(value_model, input_ids, attention_mask, prompt_width: int) -> torch.Tensor:
    """The value model's estimate before each response token, ``(B, T)``."""
    out = value_model(input_ids=input_ids, attention_mask=attention_mask,
                      position_ids=position_ids_from_mask(attention_mask))
    return out.logits[:, prompt_width - 1 : -1, 0].float()


def load_value_model(policy_path: str, device) -> nn.Module:
    """Value model: a copy of the starting policy's transformer with a fresh scalar head per token.

    Initialised from the policy, not the reward model, because the default reward model is a BERT
    encoder with another tokenizer: its per-token outputs would not line up with the policy's tokens.
    """
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging

    previous = logging.get_verbosity()
    logging.set_verbosity_error()  # the "newly initialized score head" notice is expected
    try:
        model = AutoModelForTokenClassification.from_pretrained(str(policy_path), num_labels=1)
    finally:
        logging.set_verbosity(previous)
    head = getattr(model, "score", None) or getattr(model, "classifier", None)
    if isinstance(head, nn.Linear):
        nn.init.zeros_(head.weight)
        if head.bias is not None:
            nn.init.zeros_(head.bias)
    return disable_dropout(model).to(device)


def reward_model_scorer(reward_path: str, device, max_length: int = 256) -> ScoreFn:
    """Score (prompt, completion) texts with a reward-model checkpoint, re-tokenized for its tokenizer; an
    ensemble directory (:mod:`modeling.models.reward_ensemble`) scores with its members' mean."""
    from modeling.models.reward_ensemble import load_reward_ensemble

    ensemble = load_reward_ensemble(reward_path, device=device, max_length=max_length)

    def score(prompts: Sequence[Prompt], completions: Sequence[str]) -> torch.Tensor:
        return ensemble.mean_spread(prompts, completions)[0]

    return score


def reward_member_scorer(reward_path: str, device, max_length: int = 256) -> ScoreFn:
    """Score (prompt, completion) texts with every member of a reward checkpoint or ensemble directory:
    (B, M) raw scores, M = 1 for a single checkpoint (the guard aggregates them: :mod:`modeling.training.ppo_guard`)."""
    from modeling.models.reward_ensemble import load_reward_ensemble

    ensemble = load_reward_ensemble(reward_path, device=device, max_length=max_length)
    return ensemble.member_scores

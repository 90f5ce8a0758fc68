"""Log-probabilities of completions under a causal LM, counting completion tokens only.

A sequence is a prompt's tokens followed by a completion's tokens, as
:func:`modeling.formats.chat_format.encode_example` builds them; ``completion_mask`` marks the latter. Position ids are computed from
the attention mask, so a batch padded on the left gives the same numbers as one padded on the right.
"""
from __future__ import annotations

from typing import Sequence

import torch

def pad_batch(
    sequences: Sequence[Sequence[int]], prompt_lengths: Sequence[int], pad_token_id: int, side: str = "right"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack sequences into ``(input_ids, attention_mask, completion_mask)``, each ``(B, L)``."""
    length = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), length), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
    completion_mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, (ids, prompt_length) in enumerate(zip(sequences, prompt_lengths)):
        start = 0 if side == "right" else length - len(ids)
        input_ids[row, start : start + len(ids)] = torch.tensor(list(ids), dtype=torch.long)
        attention_mask[row, start : start + len(ids)] = 1
        completion_mask[row, start + prompt_length : start + len(ids)] = 1
    return input_ids, attention_mask, completion_mask


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """0, 1, 2, ... over the real tokens of each row, whatever the padding side. ``(B, L)``"""
    return (attention_mask.long().cumsum(dim=-1) - 1).clamp(min=0)


def forward_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The model's next-token logits ``(B, L, V)``, with positions that ignore padding."""
    out = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
    )
    return out.logits


def gather_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``log softmax(logits)[label]`` per position, without materialising the full log-softmax.

    ``logits`` ``(B, T, V)``, ``labels`` ``(B, T)`` -> ``(B, T)``.
    """
    logits = logits.float()
    picked = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1)  # (B, T)
    return picked - torch.logsumexp(logits, dim=-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the next-token distribution per position, ``H = logsumexp(z) - sum softmax(z) z``."""
    logits = logits.float()
    probs = torch.softmax(logits, dim=-1)
    return torch.logsumexp(logits, dim=-1) - (probs * logits).sum(dim=-1)


def token_logprobs(model, input_ids, attention_mask, completion_mask) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-prob of each token given its prefix, and the mask of completion tokens, both ``(B, L-1)``.

    Position t holds ``log p(input_ids[:, t+1] | input_ids[:, :t+1])``; masked positions hold 0.
    """
    logits = forward_logits(model, input_ids, attention_mask)[:, :-1]  # (B, L-1, V)
    mask = completion_mask[:, 1:].bool() & attention_mask[:, 1:].bool()  # (B, L-1)
    logps = gather_logprobs(logits, input_ids[:, 1:])
    return torch.where(mask, logps, torch.zeros_like(logps)), mask  # where, not *, so a NaN pad stays out


def sequence_logprobs(model, input_ids, attention_mask, completion_mask) -> torch.Tensor:
    """``log pi(completion | prompt)``: the sum over completion tokens only. ``(B,)``"""
    logps, _ = token_logprobs(model, input_ids, attention_mask, completion_mask)
    return logps.sum(dim=-1)

"""Shared prompt prefixes: encode a prompt once, run its K completions against its cached keys and values.

A group's K completions share one prompt, so the plain grouped forward (:mod:`modeling.models.logprobs`)
spends ``K*P + sum(L)`` tokens on a group with a ``P``-token prompt and completions of ``L`` tokens.
Here (Wang et al. 2024, "Accelerating Direct Preference Optimization with Prefix Sharing", with K-way
groups instead of pairs) every distinct prefix runs once with ``use_cache=True`` and gradients on; its
per-layer keys and values are gathered to the rows of its completions (``index_select`` along the
batch, so the backward pass sums each completion's gradient into the one prefix); the completions then
run against that cache. A group costs ``P + sum(L)`` tokens, and no vocabulary projection is spent on
prompt positions. The numbers are the plain path's: same positions, same masks, same tokens.

The split of a sequence ``s`` whose first ``p`` tokens are prompt (``q = max(p - 1, 0)``)::

    prefix = s[:q]            cached; identical prefixes of a batch run once (groups of one prompt
                              over different completions, or several labelers' groups, share it)
    suffix = s[q:]            the prompt's last token, then the completion, at positions q, q+1, ...

so the first completion token's log-prob comes from the prompt's last real position, as in the plain
path. Shapes: ``R`` distinct prefixes right-padded to ``Q``; ``N`` suffixes right-padded to ``S``.
Prefix padding sits between a prompt and its completion: the prefix forward is causal only (padding
comes after every real prefix token, so no real token sees it) and the suffix forward's 2-D mask
``[prefix_mask[prefix_index], suffix_mask]`` ``(N, Q + S)`` hides it. Rows never attend to nothing, so
no masked softmax row can turn into NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from modeling.models.logprobs import gather_logprobs


@dataclass
class SharedPrefixBatch:
    """Sequences split into distinct cached prefixes and the suffixes that continue them."""

    prefix_ids: torch.Tensor  # (R, Q) right-padded; Q may be 0
    prefix_mask: torch.Tensor  # (R, Q)
    suffix_ids: torch.Tensor  # (N, S) right-padded; the prompt's last token, then the completion
    suffix_mask: torch.Tensor  # (N, S)
    prefix_index: torch.Tensor  # (N,) the prefix row each suffix continues

    def to(self, device) -> "SharedPrefixBatch":
        return SharedPrefixBatch(*(getattr(self, f).to(device) for f in
                                   ("prefix_ids", "prefix_mask", "suffix_ids", "suffix_mask", "prefix_index")))

    @property
    def num_tokens(self) -> int:
        """Real tokens the two forwards run: ``sum over distinct prefixes of q + sum over rows of (L + 1)``."""
        return int(self.prefix_mask.sum() + self.suffix_mask.sum())


def prefix_sharing_applies(*, world_size: int, gradient_checkpointing: bool) -> bool:
    """Whether a trainer asked to share prefixes can: not under DDP/FSDP (two forwards per step there:
    not tested yet), and not with gradient checkpointing (a checkpointed model in training mode keeps
    no KV cache to share). Where it cannot, the trainer takes the plain path."""
    return world_size == 1 and not gradient_checkpointing


def _right_padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max((len(r) for r in rows), default=0)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, tokens in enumerate(rows):
        ids[row, : len(tokens)] = torch.tensor(list(tokens), dtype=torch.long)
        mask[row, : len(tokens)] = 1
    return ids, mask


def split_shared_prefixes(sequences: Sequence[Sequence[int]], prompt_lengths: Sequence[int],
                          pad_id: int) -> SharedPrefixBatch:
    """Split each ``prompt + completion`` sequence at ``max(prompt_length - 1, 0)`` and keep one copy of
    each distinct prefix (by its tokens, so sharing is exact whatever grouping made the batch)."""
    prefixes: dict[tuple[int, ...], int] = {}
    suffixes, prefix_index = [], []
    for tokens, prompt_length in zip(sequences, prompt_lengths):
        cut = max(prompt_length - 1, 0)
        prefix_index.append(prefixes.setdefault(tuple(tokens[:cut]), len(prefixes)))
        suffixes.append(tokens[cut:])
    prefix_ids, prefix_mask = _right_padded(list(prefixes), pad_id)
    suffix_ids, suffix_mask = _right_padded(suffixes, pad_id)
    return SharedPrefixBatch(prefix_ids, prefix_mask, suffix_ids, suffix_mask,
                             torch.tensor(prefix_index, dtype=torch.long))


def _prefix_cache(decoder, batch: SharedPrefixBatch):
    """Run the distinct prefixes once (grads on) and gather their cache to the suffix rows, or None
    when no row has a prefix. ``decoder``: a causal LM or its base model; the cache is a transformers
    ``Cache`` whose ``reorder_cache`` does ``index_select`` on every layer's keys and values."""
    if batch.prefix_ids.shape[1] == 0:
        return None
    kwargs = {"logits_to_keep": 1} if _is_lm(decoder) else {}  # the prefix's logits are never used
    cache = decoder(input_ids=batch.prefix_ids, attention_mask=torch.ones_like(batch.prefix_mask),
                    use_cache=True, **kwargs).past_key_values
    if cache is None:  # transformers turns the cache off under gradient checkpointing in training mode
        raise RuntimeError("prefix sharing needs the model's KV cache, which gradient checkpointing turns off; "
                           "train without one of the two")
    cache.reorder_cache(batch.prefix_index)  # (R, ...) -> (N, ...)
    return cache


def _is_lm(model) -> bool:
    return model.get_output_embeddings() is not None if hasattr(model, "get_output_embeddings") else False


def _suffix_inputs(batch: SharedPrefixBatch, cache) -> dict:
    """Suffix positions continue after each row's real prefix; the mask covers both paddings."""
    prefix_mask = batch.prefix_mask[batch.prefix_index]  # (N, Q)
    positions = prefix_mask.sum(dim=1, keepdim=True) + torch.arange(batch.suffix_ids.shape[1],
                                                                   device=batch.suffix_ids.device)  # (N, S)
    return {"input_ids": batch.suffix_ids, "attention_mask": torch.cat([prefix_mask, batch.suffix_mask], dim=1),
            "position_ids": positions, "past_key_values": cache, "use_cache": cache is not None}


def shared_prefix_token_logprobs(model, batch: SharedPrefixBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """``log p(suffix[:, t+1] | prefix, suffix[:, :t+1])`` and the mask of counted tokens, both ``(N, S-1)``.

    Position t predicts completion token t; masked positions hold 0. Logits are projected only at the
    counted positions (``logits_to_keep`` as a boolean mask), so padding costs no vocabulary product.
    """
    cache = _prefix_cache(model, batch)
    counted = batch.suffix_mask[:, 1:].bool()  # (N, S-1)
    keep = torch.cat([counted, torch.zeros_like(counted[:, :1])], dim=1)  # (N, S): predicts a counted token
    logits = model(**_suffix_inputs(batch, cache), logits_to_keep=keep).logits  # (T, V), T = counted tokens
    picked = gather_logprobs(logits, batch.suffix_ids[:, 1:][counted])  # (T,)
    logps = torch.zeros(counted.shape, dtype=picked.dtype, device=picked.device).masked_scatter(counted, picked)
    return logps, counted


def shared_prefix_sequence_logprobs(model, batch: SharedPrefixBatch) -> torch.Tensor:
    """``log pi(completion | prompt)`` per row, as :func:`modeling.models.logprobs.sequence_logprobs`. ``(N,)``"""
    return shared_prefix_token_logprobs(model, batch)[0].sum(dim=-1)


def shared_prefix_scores(model, batch: SharedPrefixBatch) -> torch.Tensor:
    """A decoder reward model's score per row, read at its last real token as
    :func:`modeling.models.reward_model.score_sequences` does. ``(N,)``"""
    from modeling.models.reward_model import _decoder_head, _unwrapped

    head = _decoder_head(model)
    if head is None:
        raise ValueError("prefix sharing needs a decoder reward model (an encoder has no cache to share)")
    base = _unwrapped(model).base_model
    hidden = base(**_suffix_inputs(batch, _prefix_cache(base, batch))).last_hidden_state  # (N, S, H)
    last = batch.suffix_mask.sum(dim=1) - 1  # (N,)
    return head(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])[:, 0]  # (N,)

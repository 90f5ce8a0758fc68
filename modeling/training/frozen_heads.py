"""A last-layer ensemble on frozen features: small Bradley-Terry heads over a frozen reward encoder.

The cheap stand-in for full members used in the active-learning literature (a "last-layer" or
"frozen-feature" ensemble): every (prompt, completion) is embedded once by the frozen encoder, and each
member is only a small head on those features, so re-training an ensemble after every acquisition batch
costs seconds instead of GPU hours. It measures what an ensemble of *heads* can learn and how it picks
tasks; it is not the fine-tuned reward model (its accuracy is lower, the encoder never adapts).

Choices:

- Features (:func:`embed_pairs`): the encoder's last hidden state, **mean-pooled** over the non-pad
  tokens of the pair as the reward model reads it (``[CLS] prompt [SEP] completion [SEP]``,
  :func:`~modeling.formats.comparisons.encode_completion`), no gradient, fp32. The packaged MiniLM is a
  sentence-transformers model trained for mean pooling; its BERT pooler was not trained for it.
- Member i (:func:`train_frozen_heads`) is ``Standardize -> Linear`` (``hidden = 0``) or
  ``Standardize -> Linear(hidden) -> ReLU -> Linear``, seed ``seed + i`` for its initialisation, trained on
  the bootstrap resample of the prompts that a full member gets
  (:func:`~modeling.training.reward_ensemble.bootstrap_split`, no validation split), with the project's
  :func:`~modeling.training.losses.grouped_bradley_terry_loss` plus an L2 penalty, full batch, by
  L-BFGS (a linear head's problem is convex: its members then differ by their bootstrap only). The
  standardisation (each feature's mean and std over the member's training completions) is part of
  the head, so scores need only the raw features.
- :class:`FrozenHeadEnsemble` has ``size`` and ``member_scores(prompts, completions)`` as
  :class:`~modeling.models.reward_ensemble.RewardEnsemble` does, so
  :func:`~modeling.training.reward_ensemble.ensemble_metrics` and the ``select`` command's scoring read
  it unchanged. A pair it has no features for is a KeyError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from modeling.formats.comparisons import ComparisonGroup
from modeling.training.losses import grouped_bradley_terry_loss


@dataclass
class FrozenHeadsConfig:
    members: int = 4  # heads, each on its own bootstrap resample of the prompts
    hidden: int = 0  # 0: a linear head; > 0: one hidden layer of this width (ReLU)
    steps: int = 100  # at most this many L-BFGS iterations per head (full batch)
    l2: float = 1e-3  # penalty on the squared weights, added to the mean per-group loss
    seed: int = 0  # member i: initialisation seed and bootstrap seed ``seed + i``


@torch.no_grad()
def embed_pairs(model, tokenizer, prompts: Sequence, completions: Sequence[str], max_length: int,
                batch_size: int = 128, progress=None) -> torch.Tensor:
    """Mean-pooled last hidden state of each (prompt, completion) under a frozen encoder: (N, H) fp32.

        e_n = sum_t mask_nt h_nt / sum_t mask_nt

    ``model`` is the bare encoder (``AutoModel``). Pairs are batched by length, so padding stays small."""
    from modeling.models.reward_ensemble import encode_texts

    model.eval()
    order = sorted(range(len(prompts)), key=lambda n: (len(str(prompts[n])) + len(completions[n]), n))
    out = torch.empty(len(prompts), model.config.hidden_size)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, mask = encode_texts(tokenizer, [prompts[n] for n in rows], [completions[n] for n in rows], max_length)
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, L, H)
        weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
        out[rows] = ((hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)).float()
        if progress:
            progress(len(rows))
    return out


class Standardize(nn.Module):
    """(x - mean) / std with fixed statistics."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std.clamp(min=1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def train_head(features: torch.Tensor, better: torch.Tensor, worse: torch.Tensor, pair_group: torch.Tensor,
               num_groups: int, config: FrozenHeadsConfig, seed: int) -> nn.Module:
    """One head fitted to the comparisons: ``features`` (N, H) of the training completions, ``better``,
    ``worse``, ``pair_group`` (P,) as :func:`grouped_bradley_terry_loss` takes them. Minimises

        grouped_bradley_terry_loss(head(x)) + l2 * sum of the squared weights (biases excluded)

    by L-BFGS (strong Wolfe line search, at most ``steps`` iterations) on the standardised features."""
    torch.manual_seed(seed)
    standardize = Standardize(features.mean(dim=0), features.std(dim=0))
    x = standardize(features)  # (N, H), once: the loop never pays for it again
    width = features.shape[1]
    layers = (nn.Sequential(nn.Linear(width, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))
              if config.hidden else nn.Sequential(nn.Linear(width, 1)))
    weights = [p for name, p in layers.named_parameters() if name.endswith("weight")]
    optimizer = torch.optim.LBFGS(layers.parameters(), max_iter=config.steps, line_search_fn="strong_wolfe",
                                  tolerance_change=1e-9)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        rewards = layers(x)[:, 0]  # (N,)
        loss = grouped_bradley_terry_loss(rewards, better, worse, pair_group, num_groups)
        loss = loss + config.l2 * sum(w.pow(2).sum() for w in weights)
        loss.backward()
        return loss

    optimizer.step(closure)
    return nn.Sequential(standardize, *layers).eval()


def pack_groups(groups: Sequence[ComparisonGroup], features_of) -> tuple:
    """(features (N, H), better (P,), worse (P,), pair_group (P,), G) of the groups with pairs; a group
    listed twice (a bootstrap draw) is two groups. ``features_of(group)`` -> (K, H)."""
    rows, better, worse, pair_group = [], [], [], []
    offset = 0
    for g, group in enumerate(g for g in groups if g.num_pairs):
        rows.append(features_of(group))
        better += [offset + b for b in group.better]
        worse += [offset + w for w in group.worse]
        pair_group += [g] * group.num_pairs
        offset += len(group.completions)
    return (torch.cat(rows), torch.tensor(better), torch.tensor(worse), torch.tensor(pair_group),
            len(rows))


@dataclass
class FrozenHeadEnsemble:
    """Heads over cached features; ``features`` maps (prompt text, completion) to a row of ``table``."""

    heads: list
    table: torch.Tensor  # (N, H)
    index: dict = field(default_factory=dict)  # (str(prompt), completion) -> row of table

    @property
    def size(self) -> int:
        return len(self.heads)

    @torch.no_grad()
    def member_scores(self, prompts: Sequence, completions: Sequence[str], batch_size: int = 0) -> torch.Tensor:
        """Every head's score of each (prompt, completion): (N, size)."""
        rows = self.table[[self.index[(str(p), c)] for p, c in zip(prompts, completions)]]  # (N, H)
        return torch.cat([head(rows) for head in self.heads], dim=1)


def train_frozen_heads(groups: Sequence[ComparisonGroup], table: torch.Tensor, index: dict,
                       config: FrozenHeadsConfig) -> FrozenHeadEnsemble:
    """``config.members`` heads, member i on the bootstrap resample ``bootstrap_split`` draws with seed
    ``config.seed + i`` (module doc). ``table``/``index``: the cached features of every completion."""
    from modeling.training.reward_ensemble import bootstrap_split

    def features_of(group: ComparisonGroup) -> torch.Tensor:
        return table[[index[(str(group.prompt), c)] for c in group.completions]]

    heads = []
    for i in range(config.members):
        resample, _ = bootstrap_split(groups, validation_fraction=0.0, split_seed=config.seed,
                                      resample_seed=config.seed + i)
        heads.append(train_head(*pack_groups(resample, features_of), config, seed=config.seed + i))
    return FrozenHeadEnsemble(heads, table, index)

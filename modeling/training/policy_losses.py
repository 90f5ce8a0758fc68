"""Policy-improvement losses as small pure functions over tensors: DPO, IPO, Plackett-Luce, PPO.

DPO-family shapes follow :mod:`modeling.formats.comparisons`: ``N`` scored sequences (the K completions of
each of the batch's ``G`` groups, stacked), ``P`` non-tied pairs given as row indexes ``better`` /
``worse`` into the N sequences, and ``pair_group`` ``(P,)`` saying which group each pair is in. Every
loss is averaged over a group's pairs (or terms) first, then over groups, so a prompt weighs the same
whatever its K. PPO shapes: ``B`` sequences by ``T`` completion tokens, right-padded, with a mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from modeling.training.losses import group_mean, grouped_bradley_terry_loss  # noqa: F401  (group_mean re-exported)


@dataclass
class DPOOutput:
    """A DPO-family loss with the per-pair statistics behind the metrics."""

    loss: torch.Tensor  # scalar, mean over groups of the per-group normalised loss
    accuracy: torch.Tensor  # scalar, share of pairs whose implicit rewards are ordered right
    chosen_reward: torch.Tensor  # scalar, mean implicit reward of the better completion of a pair
    rejected_reward: torch.Tensor  # scalar, mean implicit reward of the worse completion of a pair
    margin: torch.Tensor  # scalar, mean (chosen_reward - rejected_reward) over pairs


def implicit_rewards(policy_logps: torch.Tensor, reference_logps: torch.Tensor, beta: float) -> torch.Tensor:
    """DPO's implicit reward ``r = beta * (log pi(y|x) - log pi_ref(y|x))``, shape ``(N,)``."""
    return beta * (policy_logps - reference_logps)


def _statistics(loss, rewards, better, worse) -> DPOOutput:
    with torch.no_grad():
        chosen, rejected = rewards[better], rewards[worse]  # (P,)
        return DPOOutput(
            loss=loss,
            accuracy=(chosen > rejected).float().mean(),
            chosen_reward=chosen.mean(),
            rejected_reward=rejected.mean(),
            margin=(chosen - rejected).mean(),
        )


def dpo_sigmoid_loss(policy_logps, reference_logps, better, worse, pair_group, num_groups, beta=0.1,
                     pair_weight=None) -> DPOOutput:
    """DPO (Rafailov et al. 2023, eq. 7) over every non-tied pair (w better than l) of each group:

        r_i = beta * (log pi(y_i) - log pi_ref(y_i))
        loss = 1/G * sum_g [ -1/P_g * sum_{(w,l) in g} log sigmoid(r_w - r_l) ]

    which is the grouped Bradley-Terry loss of the reward model applied to the implicit rewards.
    ``policy_logps``, ``reference_logps``: ``(N,)`` summed completion log-probs. ``pair_weight`` ``(P,)``
    (each pair's labeler's reliability weight) makes each group's mean a weighted mean.
    """
    rewards = implicit_rewards(policy_logps, reference_logps, beta)  # (N,)
    loss = grouped_bradley_terry_loss(rewards, better, worse, pair_group, num_groups, pair_weight)
    return _statistics(loss, rewards, better, worse)


def ipo_loss(policy_logps, reference_logps, better, worse, pair_group, num_groups, beta=0.1,
             pair_weight=None) -> DPOOutput:
    """IPO (Azar et al. 2023, eq. 17) over every non-tied pair, averaged per group then over groups:

        h_wl = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))
        loss = 1/G * sum_g [ 1/P_g * sum_{(w,l) in g} (h_wl - 1 / (2 * beta))^2 ]

    The reported rewards are still ``beta * (log pi - log pi_ref)``; ``pair_weight`` as in DPO.
    """
    log_ratios = policy_logps - reference_logps  # (N,)
    h = log_ratios[better] - log_ratios[worse]  # (P,)
    loss = group_mean((h - 1.0 / (2.0 * beta)) ** 2, pair_group, num_groups, pair_weight)
    return _statistics(loss, implicit_rewards(policy_logps, reference_logps, beta), better, worse)


def plackett_luce_loss(
    policy_logps, reference_logps, better, worse, pair_group, num_groups, pair_ranking, beta=0.1, pair_weight=None
) -> DPOOutput:
    """Plackett-Luce ranking likelihood of the DPO paper (appendix A.3), with ties, per ranking:

        r_i = beta * (log pi(y_i) - log pi_ref(y_i))
        term(i) = r_i - log( exp(r_i) + sum_{j ranked strictly below i} exp(r_j) )
        loss = 1/G * sum_g [ -1/n_g * sum of term(i) over every ranking of g and every completion i
                             that its ranking puts above at least one other ]

    Tie rule: a completion competes only against itself and the completions ranked strictly below it;
    completions of the same tier never compete with each other (as ties are dropped from pairwise
    losses), and the worst tier contributes no term. Without ties this is exactly the Plackett-Luce
    log-likelihood of the ordering (the last choice has probability 1). ``n_g`` is the group's number
    of terms, so a group's loss does not grow with K. ``pair_ranking`` ``(P,)`` numbers the ranking
    (one labeler's judgement) each pair came from, so the "ranked below" sets are read per ranking.
    With ``pair_weight`` ``(P,)`` (one value per ranking's pairs: its labeler's weight) each ranking's
    terms count with its weight in the group's (weighted) mean.
    """
    rewards = implicit_rewards(policy_logps, reference_logps, beta)  # (N,)
    n = rewards.shape[0]
    num_rankings = int(pair_ranking.max()) + 1
    below = torch.zeros(num_rankings, n, n, dtype=torch.bool, device=rewards.device)  # (R, N, N)
    below[pair_ranking, better, worse] = True  # below[r, i, j]: ranking r puts i above j
    competitors = torch.where(below, rewards.view(1, 1, n), torch.finfo(rewards.dtype).min)  # (R, N, N)
    with_self = torch.cat([rewards.view(1, n, 1).expand(num_rankings, n, 1), competitors], dim=2)
    term = rewards.view(1, n) - torch.logsumexp(with_self, dim=2)  # (R, N)
    has_term = below.any(dim=2).to(rewards.dtype)  # (R, N)
    if pair_weight is not None:
        ranking_weight = torch.zeros(num_rankings, dtype=rewards.dtype, device=rewards.device)
        ranking_weight[pair_ranking] = pair_weight.to(rewards.dtype)  # (R,)
        has_term = has_term * ranking_weight.view(-1, 1)
    ranking_group = torch.zeros(num_rankings, dtype=torch.long, device=rewards.device)
    ranking_group[pair_ranking] = pair_group  # (R,)
    group_sum = torch.zeros(num_groups, dtype=rewards.dtype, device=rewards.device)
    group_sum = group_sum.index_add(0, ranking_group, (term * has_term).sum(dim=1))  # (G,)
    group_terms = torch.zeros_like(group_sum).index_add(0, ranking_group, has_term.sum(dim=1))  # (G,)
    counted = group_terms > 0  # a group whose rankings all weigh 0 is left out, as in group_mean
    loss = (-group_sum[counted] / group_terms[counted]).sum() / counted.sum().clamp(min=1)
    return _statistics(loss, rewards, better, worse)


def ranking_ids(pair_group: torch.Tensor, labelers) -> torch.Tensor:
    """Number the rankings of a batch: pairs with the same group and labeler share a ranking. ``(P,)``"""
    ids: dict = {}
    return torch.tensor(
        [ids.setdefault((int(g), labeler), len(ids)) for g, labeler in zip(pair_group.tolist(), labelers)],
        dtype=torch.long,
    )


def preferred_nll_loss(policy_logps: torch.Tensor, completion_lengths: torch.Tensor, better: torch.Tensor) -> torch.Tensor:
    """Per-token negative log-likelihood of the preferred completions (RPO, Pang et al. 2024; TRL's
    ``rpo_alpha`` term), which keeps DPO from lowering the likelihood of good answers along with bad:

        loss = mean over distinct i in ``better`` of  -log pi(y_i | x) / |y_i|

    ``policy_logps``, ``completion_lengths``: ``(N,)``; ``better``: ``(P,)``.
    """
    preferred = torch.unique(better)  # (U,)
    return -(policy_logps[preferred] / completion_lengths[preferred].clamp(min=1)).mean()


DPO_LOSSES = {"sigmoid": dpo_sigmoid_loss, "ipo": ipo_loss, "plackett_luce": plackett_luce_loss}


# ----------------------------------------------------------------------------------------- PPO


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (over all entries, or along ``dim``)."""
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1)


@dataclass
class PolicyLossOutput:
    loss: torch.Tensor  # scalar
    clipfrac: torch.Tensor  # scalar, share of tokens where the clipped term was the active one
    approx_kl: torch.Tensor  # scalar, mean of 0.5 * (log ratio)^2 over tokens (old policy -> new)


def clipped_policy_loss(logprobs, old_logprobs, advantages, mask, clip_range: float = 0.2) -> PolicyLossOutput:
    """PPO's clipped surrogate (Schulman et al. 2017, eq. 7), as a loss to minimise:

        ratio = exp(log pi(a_t) - log pi_old(a_t))
        loss = masked_mean( max(-A_t * ratio, -A_t * clip(ratio, 1 - eps, 1 + eps)) )

    All tensors ``(B, T)``; ``mask`` is 1 on real completion tokens.
    """
    log_ratio = logprobs - old_logprobs  # (B, T)
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        clipfrac = masked_mean((clipped > unclipped).float(), mask)
        approx_kl = masked_mean(0.5 * log_ratio**2, mask)
    return PolicyLossOutput(loss, clipfrac, approx_kl)


def clipped_value_loss(values, old_values, returns, mask, clip_range: float = 0.2):
    """PPO's clipped value loss (as in OpenAI baselines / InstructGPT), returns (loss, clipfrac):

        v_clip = v_old + clip(v - v_old, -eps, eps)
        loss = 0.5 * masked_mean( max((v - R)^2, (v_clip - R)^2) )

    All tensors ``(B, T)``.
    """
    v_clipped = old_values + torch.clamp(values - old_values, -clip_range, clip_range)  # (B, T)
    losses = torch.maximum((values - returns) ** 2, (v_clipped - returns) ** 2)
    loss = 0.5 * masked_mean(losses, mask)
    with torch.no_grad():
        clipfrac = masked_mean(((v_clipped - returns) ** 2 > (values - returns) ** 2).float(), mask)
    return loss, clipfrac


def per_token_kl(logprobs: torch.Tensor, reference_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token KL estimate of the sampled tokens, ``k1 = log pi(a_t) - log pi_ref(a_t)``, ``(B, T)``.

    Its expectation under the policy is KL(pi || pi_ref); it is exactly 0 where pi equals pi_ref.
    """
    return logprobs - reference_logprobs


def kl_penalized_rewards(logprobs, reference_logprobs, scores, mask, beta: float) -> torch.Tensor:
    """Per-token rewards of RLHF-PPO (Ziegler et al. 2019; InstructGPT), ``(B, T)``:

        r_t = -beta * (log pi(a_t) - log pi_ref(a_t))      for every completion token
        r_T += score                                        at the last real token of each sequence

    ``scores``: ``(B,)`` reward-model scores (any length penalty already added); ``mask``: ``(B, T)``
    with the real completion tokens first (right padding).
    """
    mask = mask.to(logprobs.dtype)
    rewards = -beta * per_token_kl(logprobs, reference_logprobs) * mask  # (B, T)
    last = (mask.sum(dim=1).long() - 1).clamp(min=0)  # (B,)
    rewards = rewards.clone()
    rewards[torch.arange(rewards.shape[0]), last] += scores.to(rewards.dtype)
    return rewards

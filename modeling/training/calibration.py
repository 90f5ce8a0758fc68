"""Calibration of pair probabilities: how far "the model says 80%" is from "right 80% of the time"."""
from __future__ import annotations

import torch


def expected_calibration_error(preferred_probability: torch.Tensor, n_bins: int = 10) -> float:
    """Expected calibration error of pair probabilities. ``preferred_probability`` (P,): the predicted
    probability p that the labeler's preferred completion wins each comparison (for one model
    ``sigmoid(r_better - r_worse)``; for an ensemble the mean over members of it).

    Each comparison is read in both orders, as the event (p, happened) and the event (1 - p, did not),
    so the 2P events have probabilities spread over [0, 1] and outcomes 1 and 0. With ``n_bins``
    equal-width bins B_b of the predicted probability (a probability of exactly 1 falls in the last bin):

        ECE = sum_b |B_b| / (2P) * | acc(B_b) - conf(B_b) |
        acc(B_b) = share of the events in B_b that happened,  conf(B_b) = mean predicted probability in B_b

    Reading both orders makes the error the same whichever completion is called "first"; with an even
    ``n_bins`` it equals the usual binary ECE over the confidence max(p, 1 - p) with n_bins / 2 bins on
    [0.5, 1]. 0 for an empty input.
    """
    p = preferred_probability.detach().double().flatten()  # (P,)
    if p.numel() == 0:
        return 0.0
    probs = torch.cat([p, 1 - p])  # (2P,)
    outcomes = torch.cat([torch.ones_like(p), torch.zeros_like(p)])  # (2P,)
    bins = (probs * n_bins).floor().long().clamp(0, n_bins - 1)  # (2P,)
    count = torch.bincount(bins, minlength=n_bins).double()  # (n_bins,)
    hits = torch.zeros(n_bins, dtype=torch.double).index_add(0, bins, outcomes)  # (n_bins,)
    confidence = torch.zeros(n_bins, dtype=torch.double).index_add(0, bins, probs)  # (n_bins,)
    gap = (hits - confidence).abs()  # |B_b| * |acc - conf|, per bin
    return (gap.sum() / probs.numel()).item()

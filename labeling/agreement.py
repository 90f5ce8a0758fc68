"""Agreement and labeler-quality statistics: pure functions, plain data in, numbers out.

A ranking is a list of tiers best to worst, each a list of completion ids; a tier of two or more
ids is a tie (DESIGN.md). Nothing here touches the database: ``labeling/services/stats.py`` calls
these functions once per task as rankings arrive and stores the counts, and the dashboard sums them.

Rules the figures follow:

* **Pairwise agreement** (InstructGPT's 72.6 %): over the pairs of completions that *both* rankings
  order strictly, the share ordered the same way. A pair tied by either ranking is left out, as ties
  are left out of the pairwise losses (DESIGN.md). Return counts, not ratios, so that many tasks
  are pooled by summing (``agree / compared`` over the sums).
* **Gold accuracy**: over the pairs the gold ranking orders strictly, the share the labeler orders the
  same way; a labeler's tie on such a pair counts as a miss (tying everything must not look accurate).
* **Consensus agreement** (leave one out): a pair's consensus is the majority of the *other*
  labelers' strict preferences on it; pairs where they split evenly or all tie have none and are
  left out. The labeler agrees when their strict order matches it.
* **Kendall's tau-b**: ``(C - D) / sqrt((n0 - n1) (n0 - n2))`` with ``n0 = n (n - 1) / 2`` and
  ``n1``, ``n2`` the pairs tied in each ranking; ``None`` where a ranking ties everything.
* **Krippendorff's alpha (ordinal)**: units are completions, coders are labelers, a value is the
  completion's mid-rank in that labeler's ranking (a tie covering places 2 and 3 gives both 2.5).
  ``alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck)`` with the coincidences
  ``o_ck = sum_u (pairs of values c, k in unit u) / (m_u - 1)``, ``n_c = sum_k o_ck`` and the
  ordinal distance ``d_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2``. The coincidences are a sum
  over units, so they are cached per task and added up.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

Tiers = Sequence[Sequence[int]]
Coincidences = Mapping[tuple[float, float], float]


def tier_of(tiers: Tiers) -> dict[int, int]:
    """Completion id -> index of its tier (0 is best)."""
    return {cid: position for position, tier in enumerate(tiers) for cid in tier}


def midranks(tiers: Tiers) -> dict[int, float]:
    """Completion id -> its 1-based place; the ids of a tie share the mean of the places they cover."""
    ranks, place = {}, 1
    for tier in tiers:
        for cid in tier:
            ranks[cid] = place + (len(tier) - 1) / 2
        place += len(tier)
    return ranks


def pair_signs(tiers: Tiers) -> dict[tuple[int, int], int]:
    """For each pair of ids ``a < b``: 1 if ``a`` is ranked better, -1 if ``b`` is, 0 if tied."""
    tier = tier_of(tiers)
    return {(a, b): (tier[a] < tier[b]) - (tier[a] > tier[b]) for a, b in combinations(sorted(tier), 2)}


def pairwise_agreement(tiers_a: Tiers, tiers_b: Tiers) -> tuple[int, int]:
    """(agreeing pairs, compared pairs) over the pairs both rankings order strictly."""
    a, b = pair_signs(tiers_a), pair_signs(tiers_b)
    compared = [pair for pair, sign in a.items() if sign and b.get(pair)]
    return sum(a[pair] == b[pair] for pair in compared), len(compared)


def gold_agreement(tiers: Tiers, gold: Tiers) -> tuple[int, int]:
    """(pairs ordered as the gold orders them, pairs the gold orders strictly); a tie is a miss."""
    mine, truth = pair_signs(tiers), pair_signs(gold)
    compared = [pair for pair, sign in truth.items() if sign and pair in mine]
    return sum(mine[pair] == truth[pair] for pair in compared), len(compared)


def consensus_agreement(tiers: Tiers, others: Iterable[Tiers]) -> tuple[int, int]:
    """(pairs agreeing with the others' majority, pairs with a strict majority the labeler orders)."""
    votes: dict[tuple[int, int], int] = defaultdict(int)
    for other in others:
        for pair, sign in pair_signs(other).items():
            votes[pair] += sign
    agree = compared = 0
    for pair, sign in pair_signs(tiers).items():
        majority = votes.get(pair, 0)
        if sign and majority:
            compared += 1
            agree += (majority > 0) == (sign > 0)
    return agree, compared


def kendall_tau_b(tiers_a: Tiers, tiers_b: Tiers) -> float | None:
    """Kendall's tau-b over the ids both rankings contain; None when it is undefined."""
    a, b = pair_signs(tiers_a), pair_signs(tiers_b)
    common = [pair for pair in a if pair in b]
    concordant = sum(a[p] * b[p] > 0 for p in common)
    discordant = sum(a[p] * b[p] < 0 for p in common)
    untied_a = sum(a[p] != 0 for p in common)
    untied_b = sum(b[p] != 0 for p in common)
    if not untied_a or not untied_b:
        return None
    return (concordant - discordant) / math.sqrt(untied_a * untied_b)


def follows_display_order(tiers: Tiers, display_order: Sequence[int]) -> bool:
    """True when the ranking is exactly the order the cards were shown in, with no ties."""
    return all(len(tier) == 1 for tier in tiers) and [t[0] for t in tiers] == list(display_order)


def first_shown_credit(tiers: Tiers, display_order: Sequence[int]) -> tuple[float, float]:
    """(win credit of the first-shown card, its chance level ``1 / K``).

    The first-shown card wins when it is in the top tier; sharing the top tier with ``t - 1``
    others earns ``1 / t``. Without position bias the credit averages ``1 / K``.
    """
    if not display_order or not tiers:
        return 0.0, 0.0
    top = tiers[0]
    return (1 / len(top) if display_order[0] in top else 0.0), 1 / len(display_order)


def task_coincidences(rankings: Sequence[Tiers]) -> dict[tuple[float, float], float]:
    """One task's contribution to the coincidence matrix (its completions are the units)."""
    values: dict[int, list[float]] = defaultdict(list)
    for tiers in rankings:
        for cid, rank in midranks(tiers).items():
            values[cid].append(rank)
    return unit_coincidences(values.values())


def unit_coincidences(units: Iterable[Sequence[float]]) -> dict[tuple[float, float], float]:
    """``o_ck`` over units given as lists of their observed values (missing values left out)."""
    matrix: dict[tuple[float, float], float] = defaultdict(float)
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for i, j in combinations(range(m), 2):
            matrix[(unit[i], unit[j])] += 1 / (m - 1)
            matrix[(unit[j], unit[i])] += 1 / (m - 1)
    return dict(matrix)


def add_coincidences(total: dict, part: Coincidences | Iterable) -> None:
    """Add ``part`` (a mapping, or ``[c, k, weight]`` triples as cached in JSON) into ``total``."""
    items = part.items() if isinstance(part, Mapping) else (((c, k), w) for c, k, w in part)
    for key, weight in items:
        total[key] = total.get(key, 0.0) + weight


def alpha_ordinal(coincidences: Coincidences) -> float | None:
    """Krippendorff's ordinal alpha from a coincidence matrix; None without variation to measure."""
    totals: dict[float, float] = defaultdict(float)
    for (c, _k), weight in coincidences.items():
        totals[c] += weight
    values = sorted(totals)
    n = sum(totals.values())
    if len(values) < 2 or n <= 1:
        return None
    index = {v: i for i, v in enumerate(values)}
    cumulative = [0.0]
    for v in values:
        cumulative.append(cumulative[-1] + totals[v])

    def distance(c: float, k: float) -> float:
        low, high = sorted((index[c], index[k]))
        return (cumulative[high + 1] - cumulative[low] - (totals[values[low]] + totals[values[high]]) / 2) ** 2

    observed = sum(w * distance(c, k) for (c, k), w in coincidences.items())
    expected = sum(totals[c] * totals[k] * distance(c, k) for c in values for k in values)
    if expected == 0:
        return None
    return 1 - (n - 1) * observed / expected


def krippendorff_alpha_ordinal(units: Iterable[Sequence[float]]) -> float | None:
    """Ordinal alpha over units, each the list of values its coders gave (missing ones left out)."""
    return alpha_ordinal(unit_coincidences(units))


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def outliers(values: Mapping, *, worse: str, floor: float, cutoff: float = 3.5) -> set:
    """Keys whose value is far on the ``worse`` side ("low" or "high") of the others.

    Modified z-score of Iglewicz and Hoaglin, ``0.6745 * (x - median) / MAD``, flagged beyond
    ``cutoff``. ``floor`` is the smallest MAD used, so that a tight group of good labelers does not
    turn a small difference into an alarm. ``None`` values are ignored; fewer than 3 values flag none.
    """
    present = {key: value for key, value in values.items() if value is not None}
    if len(present) < 3:
        return set()
    centre = median(list(present.values()))
    spread = max(median([abs(v - centre) for v in present.values()]), floor)
    sign = -1 if worse == "low" else 1
    return {key for key, value in present.items() if sign * 0.6745 * (value - centre) / spread > cutoff}

"""KL divergence of a policy from its reference, estimated on the policy's own samples."""
from __future__ import annotations

from typing import Sequence

import torch

from modeling.formats.conversation import Prompt


@torch.no_grad()
def estimate_kl(policy, reference, tokenizer, prompts: Sequence[Prompt], *, max_new_tokens: int = 48,
                seed: int = 0, batch_size: int = 64) -> float:
    """KL(policy || reference) per completion, by Monte Carlo on fresh samples of the policy:

        KL ~= mean over sampled y of  sum_t [log pi(y_t | x, y_<t) - log pi_ref(y_t | x, y_<t)]

    ``reference`` None: the policy's own base with its LoRA adapter disabled (no second model).
    """
    from modeling.models.lora import reference_model
    from modeling.training.ppo_rollout import generate_responses, response_logprobs

    state = torch.get_rng_state()
    torch.manual_seed(seed)
    responses = generate_responses(policy, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)
    torch.set_rng_state(state)
    policy_logps, _ = response_logprobs(policy, responses.input_ids, responses.attention_mask, responses.prompt_width)
    with reference_model(policy, reference) as scorer:
        reference_logps, _ = response_logprobs(scorer, responses.input_ids, responses.attention_mask,
                                               responses.prompt_width)
    mask = responses.response_mask.float()
    return float(((policy_logps - reference_logps) * mask).sum(dim=1).mean())

"""Models and their loading: checkpoints, LoRA adapters, the policy and reward model, the tokenizer, sampling."""

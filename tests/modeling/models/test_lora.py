"""LoRA through peft: targets found by type, only adapters train, the reference is the base with the
adapter disabled (one copy in memory), adapter and merged outputs reload, QLoRA refused without CUDA."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from peft import AutoPeftModelForCausalLM, AutoPeftModelForSequenceClassification
from transformers import AutoModelForCausalLM

from modeling.models import checkpoints, lora
from modeling.cli import main
from modeling.formats.conversation import parse_prompt
from modeling.training.dpo import REFERENCE_FILE, DPOConfig, reference_logprobs, tokenize_policy_groups, train_dpo
from modeling.formats.comparisons import group_rankings
from modeling.models.policy_model import load_policy
from modeling.training.ppo import PPOConfig, train_ppo
from modeling.formats.rankings import parse_ranking
from modeling.training.reward_config import RewardConfig
from modeling.models.reward_model import load_reward_model, score_sequences
from modeling.training.reward_training import train_reward_model
from modeling.models.sampling import sample
from modeling.training.sft import Demonstration, train_sft
from modeling.training.sft_config import SFTConfig
from tests.modeling.tiny_reward import toy_ranking_records, write_toy_rankings

PROMPTS = [f"List {n} {thing}." for n in (2, 3) for thing in ("fruits", "tools", "animals", "colors")]


@pytest.fixture(scope="module")
def rankings():
    return [parse_ranking(r) for r in toy_ranking_records(16, 4)]


@pytest.fixture
def count_loads(monkeypatch):
    """How many causal LMs were built from a checkpoint (a second reference copy would show here)."""
    calls = []
    original = AutoModelForCausalLM.from_pretrained.__func__

    def counted(cls, *args, **kwargs):
        calls.append(args[0] if args else kwargs)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", classmethod(counted))
    return calls


def leaf_names(names):
    return {name.rsplit(".", 1)[-1] for name in names}


def test_targets_are_the_block_linears_of_gpt2_and_llama(tiny_policy_dir, tiny_chat_model_dir):
    gpt2 = AutoModelForCausalLM.from_pretrained(tiny_policy_dir)
    assert leaf_names(lora.default_target_modules(gpt2)) == {"c_attn", "c_proj", "c_fc"}
    llama = AutoModelForCausalLM.from_pretrained(tiny_chat_model_dir)
    targets = lora.default_target_modules(llama)
    assert leaf_names(targets) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert not any("lm_head" in name for name in targets)


def test_only_adapters_are_trainable_and_the_base_is_unchanged(tiny_chat_model_dir, tmp_path):
    base = {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(tiny_chat_model_dir).state_dict().items()}
    demonstrations = [Demonstration(parse_prompt("Say hi."), "hi there")] * 8
    out, metrics = train_sft(SFTConfig(output_dir=str(tmp_path / "sft"), policy=str(tiny_chat_model_dir), lora_r=4,
                                       epochs=1, batch_size=4, learning_rate=1e-2, warmup_ratio=0.0), demonstrations)
    assert (Path(out) / lora.ADAPTER_CONFIG).is_file() and not (Path(out) / "config.json").exists()
    model = AutoPeftModelForCausalLM.from_pretrained(str(out))
    adapter_config = json.loads((Path(out) / lora.ADAPTER_CONFIG).read_text())
    assert Path(adapter_config["base_model_name_or_path"]).is_absolute()
    trained = {k: v for k, v in model.state_dict().items() if "lora_B" in k}
    assert trained and any(v.abs().sum() > 0 for v in trained.values())  # B starts at 0: it moved
    for name, value in model.get_base_model().state_dict().items():
        if "lora_" not in name:
            assert torch.equal(value, base[name.replace(".base_layer", "")]), name
    trainable = [n for n, p in lora.prepare_for_training(load_policy(out, "cpu")[0], SFTConfig(lora_r=4),
                                                         "CAUSAL_LM").named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)  # a continued adapter trains only itself


def test_dpo_with_lora_uses_the_base_as_reference_and_reloads(tiny_policy_dir, rankings, tmp_path, count_loads):
    config = DPOConfig(output_dir=str(tmp_path / "dpo"), policy=str(tiny_policy_dir), lora_r=8, lora_alpha=16,
                       learning_rate=3e-2, completions_per_batch=16, kl_prompts=4, kl_max_new_tokens=8, merge=True)
    out, metrics = train_dpo(config, rankings)
    assert len(count_loads) == 1  # the policy only: reference log-probs and KL use the adapter-disabled base
    assert metrics["dpo/eval/margin"] > 0.02 and metrics["dpo/eval/accuracy"] > 0.6  # starts at exactly 0
    history = json.loads((Path(out) / "metrics.json").read_text())["history"]
    assert history[-1]["dpo/loss"] < history[0]["dpo/loss"] or metrics["dpo/eval/loss"] < 0.693
    assert metrics["dpo/kl"] == pytest.approx(metrics["dpo/kl"])  # finite

    base, tokenizer = load_policy(tiny_policy_dir, "cpu")
    groups = group_rankings(rankings)
    lengths = tokenize_policy_groups(groups, tokenizer, config.max_length)
    expected = reference_logprobs(base, groups, lengths, tokenizer.pad_token_id, "cpu")
    cached = torch.load(Path(out) / REFERENCE_FILE, weights_only=False)["logprobs"]
    assert [x for g in cached for x in g] == pytest.approx([x for g in expected for x in g], abs=1e-4)

    ids = torch.tensor([tokenizer("the answer is here").input_ids])
    adapter = AutoPeftModelForCausalLM.from_pretrained(str(out)).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(Path(out) / lora.MERGED_DIR)).eval()
    policy, _ = load_policy(out, "cpu")
    with torch.no_grad():
        logits = adapter(input_ids=ids).logits
        assert torch.allclose(logits, policy.eval()(input_ids=ids).logits, atol=1e-5)
        assert torch.allclose(logits, merged(input_ids=ids).logits, atol=1e-4)
        assert not torch.allclose(logits, base.eval()(input_ids=ids).logits, atol=1e-3)
    groups = sample(policy, tokenizer, [parse_prompt("List 2 fruits.")], k=2, max_new_tokens=6)
    assert len(groups) == 1 and groups[0].completions


def test_resume_checkpoint_round_trips_a_peft_model(tiny_policy_dir, tmp_path):
    model = lora.prepare_for_training(load_policy(tiny_policy_dir, "cpu")[0], DPOConfig(lora_r=2), "CAUSAL_LM")
    trainable = dict((n, p) for n, p in model.named_parameters() if p.requires_grad)
    with torch.no_grad():
        for p in trainable.values():
            p.add_(0.5)
    saved = {n: p.clone() for n, p in trainable.items()}
    path = checkpoints.save_checkpoint(tmp_path, step=1, model=model)
    with torch.no_grad():
        for p in trainable.values():
            p.zero_()
    checkpoints.load_checkpoint(path, model=model)
    assert all(torch.equal(p, saved[n]) for n, p in model.named_parameters() if p.requires_grad)
    # a resume checkpoint holds the adapters (and buffers), not a second copy of the frozen base
    held = torch.load(path / checkpoints.STATE_FILE, weights_only=False)["model"]
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert set(trainable) <= set(held) and not set(frozen) & set(held)
    params = lambda names: sum(model.get_parameter(n).numel() for n in names)
    assert params(trainable) * 5 < params(frozen)


def test_a_resume_checkpoint_of_another_model_is_refused(tiny_policy_dir, tmp_path):
    lora_model = lora.prepare_for_training(load_policy(tiny_policy_dir, "cpu")[0], DPOConfig(lora_r=2), "CAUSAL_LM")
    path = checkpoints.save_checkpoint(tmp_path, step=1, model=lora_model)
    with pytest.raises(RuntimeError, match="does not fit the model"):
        checkpoints.load_checkpoint(path, model=load_policy(tiny_policy_dir, "cpu")[0])  # full model: all missing


def vowel_share(prompts, completions):
    return torch.tensor([sum(ch in "aeiou" for ch in c) / max(1, len(c)) for c in completions])


def test_ppo_with_lora_runs_without_a_reference_copy(tiny_policy_dir, tmp_path, count_loads):
    config = PPOConfig(output_dir=str(tmp_path / "ppo"), policy=str(tiny_policy_dir), iterations=2, rollout_batch_size=8,
                       minibatch_size=4, ppo_epochs=1, max_new_tokens=6, learning_rate=1e-2, lora_r=4,
                       use_value_model=False, samples_per_prompt=2)
    out, metrics = train_ppo(config, PROMPTS, score_fn=vowel_share)
    assert len(count_loads) == 1
    assert metrics["ppo/iterations"] == 2 and torch.isfinite(torch.tensor(metrics["ppo/kl"]))
    assert (Path(out) / lora.ADAPTER_CONFIG).is_file()
    AutoPeftModelForCausalLM.from_pretrained(str(out))


def test_reward_model_with_lora_trains_the_head_and_reloads(tiny_decoder_path, tmp_path):
    records = toy_ranking_records(24, 4)
    config = RewardConfig(output_dir=str(tmp_path / "rm"), base_model=str(tiny_decoder_path), lora_r=4,
                          learning_rate=1e-2, epochs=2, completions_per_batch=16, checkpoint_every=0)
    out, metrics = train_reward_model(config, [parse_ranking(r) for r in records])
    assert torch.isfinite(torch.tensor(metrics["reward/train_loss"]))
    saved = json.loads((Path(out) / lora.ADAPTER_CONFIG).read_text())
    assert "score" in saved["modules_to_save"]
    model, tokenizer = load_reward_model(out)
    trainable = [n for n, p in lora.prepare_for_training(model, config, "SEQ_CLS").named_parameters()
                 if p.requires_grad]
    assert any("score" in n for n in trainable) and all("lora_" in n or "modules_to_save" in n for n in trainable)
    reloaded = AutoPeftModelForSequenceClassification.from_pretrained(str(out), num_labels=1).eval()
    reloaded.config.pad_token_id = tokenizer.pad_token_id
    batch = tokenizer(["good good answer", "bad bad answer"], return_tensors="pt", padding=True)
    with torch.no_grad():
        ours = score_sequences(model.eval(), batch.input_ids, batch.attention_mask)
        theirs = score_sequences(reloaded, batch.input_ids, batch.attention_mask)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_cli_refuses_4bit_on_cpu_and_a_negative_rank(tiny_policy_dir, tmp_path, capsys):
    rankings = write_toy_rankings(tmp_path / "rankings.jsonl", n_prompts=4)
    args = ["dpo", "--policy", str(tiny_policy_dir), "--rankings", rankings, "--out", str(tmp_path / "o"),
            "--device", "cpu"]
    assert main(args + ["--lora-r", "4", "--load-in-4bit"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --load-in-4bit needs a CUDA GPU and the bitsandbytes package"] or \
        err[-1].endswith("--load-in-4bit needs a CUDA GPU and the bitsandbytes package")
    assert main(args + ["--lora-r", "-1"]) == 2
    assert "--lora-r must be >= 0" in capsys.readouterr().err
    assert main(["train-reward", "--rankings", rankings, "--out", str(tmp_path / "r"), "--load-in-4bit",
                 "--lora-r", "4", "--device", "cpu"]) == 2
    assert "--load-in-4bit needs a CUDA GPU" in capsys.readouterr().err


def test_lora_dpo_with_gradient_checkpointing_trains_on_cpu(tiny_policy_dir, rankings, tmp_path):
    """Checkpointing keeps no KV cache in training mode, so the round takes the plain path even with
    prefix sharing asked for (it crashed on the missing cache before), and learns the same."""
    def run(name, **extra):
        config = DPOConfig(output_dir=str(tmp_path / name), policy=str(tiny_policy_dir), lora_r=8,
                           learning_rate=3e-2, completions_per_batch=16, kl_prompts=0, device="cpu", max_steps=2,
                           prefix_sharing=True, **extra)
        return train_dpo(config, rankings)[1]

    checkpointed, plain = run("checkpointed", gradient_checkpointing=True), run("plain")
    assert checkpointed["dpo/loss"] == pytest.approx(plain["dpo/loss"], abs=1e-5)
    assert (checkpointed["perf/prefix_sharing"], plain["perf/prefix_sharing"]) == (0.0, 1.0)


@pytest.mark.skipif(not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None,
                    reason="QLoRA needs a CUDA GPU and bitsandbytes")
def test_qlora_dpo_trains_on_cuda(tiny_policy_dir, rankings, tmp_path):
    config = DPOConfig(output_dir=str(tmp_path / "qlora"), policy=str(tiny_policy_dir), lora_r=8, load_in_4bit=True,
                       gradient_checkpointing=True, learning_rate=3e-2, completions_per_batch=16, kl_prompts=0,
                       device="cuda")
    out, metrics = train_dpo(config, rankings)
    assert torch.isfinite(torch.tensor(metrics["dpo/eval/loss"]))
    assert (Path(out) / lora.ADAPTER_CONFIG).is_file()

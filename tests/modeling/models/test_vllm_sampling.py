"""The sampling backends: generate by default, vLLM only where it can run (its own environment and a
GPU), the same re-draw and distinct rule for both, and a clear refusal everywhere else."""
import json
import os
import sys

import pytest
import torch

from modeling.cli import main
from modeling.errors import InputError
from modeling.models.sampling import SamplingSettings, sample_checkpoint, sample_rounds
from modeling.models.vllm_sampling import PYTHON_SETTING, VllmWorker, backend_choose

PROMPTS = ["Name a colour.", "Say a number."]
HAS_VLLM_GPU = bool(os.environ.get(PYTHON_SETTING)) and torch.cuda.is_available()


def test_generate_is_chosen_unless_vllm_is_asked_for_or_can_run(monkeypatch):
    monkeypatch.delenv(PYTHON_SETTING, raising=False)
    assert backend_choose("generate") == "generate"
    assert backend_choose("auto") == "generate"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_vllm_is_refused_in_one_line_without_its_python_or_a_gpu(monkeypatch, tmp_path):
    monkeypatch.delenv(PYTHON_SETTING, raising=False)
    with pytest.raises(InputError, match=PYTHON_SETTING):
        backend_choose("vllm")
    monkeypatch.setenv(PYTHON_SETTING, str(tmp_path / "missing" / "python"))
    with pytest.raises(InputError, match="to exist"):
        backend_choose("vllm")
    monkeypatch.setenv(PYTHON_SETTING, sys.executable)
    with pytest.raises(InputError, match="CUDA"):
        backend_choose("vllm")
    assert backend_choose("auto") == "generate"
    with pytest.raises(InputError, match="unknown sampling backend 'vlm'"):
        backend_choose("vlm")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_the_sample_command_refuses_vllm_here_and_writes_nothing(tiny_policy_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PYTHON_SETTING, raising=False)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    out = tmp_path / "samples.jsonl"
    code = main(["sample", "--policy", str(tiny_policy_dir), "--prompts", str(prompts), "--out", str(out),
                 "--backend", "vllm"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "vllm sampling backend needs" in err[0]
    assert not out.exists()


def test_auto_samples_with_generate_here_and_records_it(tiny_policy_dir, monkeypatch):
    monkeypatch.delenv(PYTHON_SETTING, raising=False)
    groups = sample_checkpoint(str(tiny_policy_dir), PROMPTS, backend="auto", k=2, max_new_tokens=4, seed=1)
    assert [g.prompt for g in groups] == PROMPTS
    assert all(g.settings["backend"] == "generate" and len(set(g.completions)) == len(g.completions) for g in groups)


def test_the_distinct_rule_redraws_only_the_short_prompts_hotter_and_stops():
    """The rule both backends share, fed by a draw that repeats itself for the second prompt."""
    calls = []

    def draw(short, temperature, round_):
        calls.append((list(short), round(temperature, 3), round_))
        return [["a", "a", ""] if i == 0 else ["same", "same", "same"] for i in short]

    settings = SamplingSettings(k=2, temperature=1.0, redraw_heat=2.0, max_redraws=2)
    groups = sample_rounds(["p", "q"], settings, draw)
    assert [g.completions for g in groups] == [["a"], ["same"]]  # empty and repeated texts never count
    assert calls == [([0, 1], 1.0, 0), ([0, 1], 2.0, 1), ([0, 1], 4.0, 2)]
    assert [g.redraws for g in groups] == [2, 2]

    def better(short, temperature, round_):
        return [[f"t{round_}-{i}", f"u{round_}-{i}"] if i == 0 and round_ == 1 else ["x", "x"] for i in short]

    groups = sample_rounds(["p", "q"], settings, better)
    assert groups[0].completions == ["x", "t1-0"] and groups[0].redraws == 1


def test_a_worker_that_cannot_start_is_reported_with_its_exit_status(tmp_path):
    """The coprocess protocol's failure path, with this environment's Python (which has no vLLM)."""
    with pytest.raises(RuntimeError, match=r"exited with status \d+ before it was ready"):
        VllmWorker(str(tmp_path), python=sys.executable)


@pytest.mark.skipif(not HAS_VLLM_GPU, reason=f"needs {PYTHON_SETTING} (an environment with vLLM) and a CUDA GPU")
def test_vllm_draws_k_distinct_completions_reproducibly(tiny_policy_dir):
    def run():
        return sample_checkpoint(str(tiny_policy_dir), PROMPTS, backend="vllm", k=3, max_new_tokens=6, seed=5)

    first = run()
    assert all(g.settings["backend"] == "vllm" and len(set(g.completions)) == len(g.completions) >= 2
               for g in first)
    assert [g.completions for g in run()] == [g.completions for g in first]

"""A conversation round on a foreign chat model: ranked conversation tasks -> reward model -> LoRA DPO
-> an adapter policy version -> its samples become new conversation tasks; then a second round
continues the adapter."""
import json
from pathlib import Path

import pytest

from labeling.models import Completion, ModelVersion, Prompt, RankingTask, Run
from labeling.services.model_versions import model_version_register
from labeling.services.prompts import prompt_fields
from labeling.services.rounds import round_start
from tests.factories import UserFactory
from tests.labeling.test_jobs import _rank_everything
from tests.labeling.test_rounds import run_round_to_the_end, tiny_config

SYSTEM = "You are a helpful assistant. Answer in **Markdown**."


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def conversation_tasks(n: int):
    for i in range(n):
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"What is {i} plus 1?"},
                    {"role": "assistant", "content": "Let me think."}, {"role": "user", "content": "Go on."}]
        prompt = Prompt.objects.create(**prompt_fields(messages))
        task = RankingTask.objects.create(prompt=prompt, required_rankings=2)
        for text in (f"{i} plus 1 is {i + 1}.", f"{i + 1}", "I like trains, a lot of trains."):
            Completion.objects.create(task=task, text=text, source=Completion.Source.SEED)


def test_a_lora_dpo_round_on_a_foreign_chat_model_makes_conversation_tasks(db, tiny_chat_model_dir, tiny_bert_path):
    base = model_version_register(kind="policy", algorithm="external", path=tiny_chat_model_dir)
    conversation_tasks(6)
    _rank_everything([UserFactory(), UserFactory()])
    config = tiny_config(tiny_bert_path)
    config["dpo"].update({"lora_r": 4, "lora_alpha": 8.0})
    first = round_start(algo="dpo", config=config, min_new_rankings=1)
    assert run_round_to_the_end(first) == ["train_reward", "dpo", "sample"]
    adapter = first.policy_out
    assert adapter.parent == base and (Path(adapter.path) / "adapter_config.json").is_file()
    saved = json.loads((Path(adapter.path) / "adapter_config.json").read_text())
    assert Path(saved["base_model_name_or_path"]) == Path(tiny_chat_model_dir).resolve()
    sampled = Run.objects.get(training_round=first, kind="sample")
    new_tasks = RankingTask.objects.filter(pk__in=sampled.outputs["task_ids"])
    assert new_tasks.exists()
    for task in new_tasks:
        assert task.prompt.messages[0] == {"role": "system", "content": SYSTEM}
        assert all("<|im_end|>" not in c.text for c in task.completions.all())

    # round 2 starts from the adapter version and keeps training it; the reference stays the base
    _rank_everything([UserFactory(), UserFactory()])
    second = round_start(algo="dpo", config=config, min_new_rankings=1)
    assert run_round_to_the_end(second) == ["train_reward", "dpo", "sample"]
    assert second.policy_out.parent == adapter
    assert (Path(second.policy_out.path) / "adapter_config.json").is_file()
    assert ModelVersion.objects.filter(kind="policy").count() == 3

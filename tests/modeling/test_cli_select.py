"""``python -m modeling select`` end to end on a tiny 2-member ensemble, and the inputs it refuses."""
import json

import pytest

from modeling.cli import main
from tests.modeling.models.test_reward_ensemble import _two_member_ensemble

PROMPTS = ["List 3 fruits.", "List 3 fruit.", "Write a haiku about rain.", "Name two rivers.",
           "Sum 2 and 3.", "Translate cat to French."]


def _samples(path, prompts=PROMPTS, k=3):
    with open(path, "w", encoding="utf-8") as handle:
        for number, prompt in enumerate(prompts):
            completions = [f"answer {number} take {i} " + "good " * i for i in range(k)]
            handle.write(json.dumps({"prompt": prompt, "completions": completions,
                                     "settings": {"policy": "p", "seed": number}}) + "\n")
    return str(path)


@pytest.fixture
def ensemble_dir(tmp_path, tiny_bert_path):
    return str(_two_member_ensemble(tmp_path, tiny_bert_path))


def test_select_writes_the_chosen_lines_with_their_selection(tmp_path, ensemble_dir, capsys):
    samples = _samples(tmp_path / "samples.jsonl")
    out = tmp_path / "chosen.jsonl"
    assert main(["select", "--reward", ensemble_dir, "--samples", samples, "--n", "5", "--out", str(out),
                 "--seed", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["pool"] == 6 and summary["picked"] == 5 and summary["members"] == 2
    chosen = [json.loads(line) for line in out.read_text().splitlines()]
    inputs = {json.loads(line)["prompt"]: json.loads(line) for line in open(samples)}
    assert len({c["prompt"] for c in chosen}) == 5
    for line in chosen:
        selection = line.pop("selection")
        assert line == inputs[line["prompt"]]  # the input line unchanged
        assert set(selection) == {"method", "score", "rank", "random_pick"} and selection["score"] >= 0
    assert [c["selection"]["rank"] for c in map(json.loads, out.read_text().splitlines())] == [1, 2, 3, 4, 5]
    picks = [json.loads(line)["selection"] for line in out.read_text().splitlines()]
    assert sum(p["random_pick"] for p in picks) == 1  # round(0.2 * 5)
    assert {p["method"] for p in picks} == {"uncertainty", "random"}
    assert any(p["score"] > 0 for p in picks)  # two differently initialised members disagree somewhere
    assert [p["random_pick"] for p in picks] == [False] * 4 + [True]  # informed picks first, then the random one

    again = tmp_path / "again.jsonl"
    main(["select", "--reward", ensemble_dir, "--samples", samples, "--n", "5", "--out", str(again), "--seed", "1"])
    assert again.read_text() == out.read_text()
    assert main(["select", "--reward", ensemble_dir, "--samples", samples, "--n", "4", "--out", str(again),
                 "--method", "random"]) == 0
    assert all(json.loads(line)["selection"]["random_pick"] for line in again.read_text().splitlines())
    assert main(["select", "--reward", ensemble_dir, "--samples", samples, "--n", "3", "--out", str(again),
                 "--method", "variance", "--random-share", "0"]) == 0
    assert {json.loads(line)["selection"]["method"] for line in again.read_text().splitlines()} == {"variance"}


@pytest.mark.parametrize("change, message", [
    ({"--n": "0"}, "--n >= 1"),
    ({"--n": "7"}, "more than the 6 candidate tasks"),
    ({"--method": "entropy"}, "unknown selection method"),
    ({"--random-share": "2"}, "random share"),
    ({"--samples": "missing.jsonl"}, "cannot read samples"),
    ({"--reward": "nowhere"}, "not a reward checkpoint or ensemble directory"),
    ({"bad_samples": True}, "at least 2"),
])
def test_select_refuses_bad_input_with_one_line(tmp_path, ensemble_dir, capsys, change, message):
    samples = _samples(tmp_path / "samples.jsonl", k=1 if change.pop("bad_samples", False) else 3)
    args = {"--reward": ensemble_dir, "--samples": samples, "--n": "2", "--out": str(tmp_path / "out.jsonl")}
    args.update({key: str(tmp_path / value) if key in ("--samples", "--reward") else value
                 for key, value in change.items()})
    assert main(["select", *[part for pair in args.items() for part in pair]]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
    assert not (tmp_path / "out.jsonl").exists()

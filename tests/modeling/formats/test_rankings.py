"""Every malformed rankings file is refused whole, with the file and line named."""
from __future__ import annotations

import json
import re

import pytest

from modeling.errors import InputError
from modeling.formats.rankings import pairs_from_rankings, read_rankings, write_pairs

GOOD = {"prompt": "Say hi", "completions": ["hi", "hello", "yo"], "ranking": [[1], [0, 2]], "labeler": "ann"}


def _write(tmp_path, lines):
    path = tmp_path / "r.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def _bad(**changes):
    return {**GOOD, **changes}


def test_reads_a_good_file_and_skips_blank_lines(tmp_path):
    rankings = read_rankings(_write(tmp_path, [GOOD, "", _bad(labeler="bob")]))
    assert [r.labeler for r in rankings] == ["ann", "bob"]
    assert rankings[0].tiers == ((1,), (0, 2)) and rankings[0].completions == ("hi", "hello", "yo")


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({k: v for k, v in GOOD.items() if k != "labeler"}, "missing key 'labeler'"),
        (_bad(ranking=[[1], [0, 7]]), "completion 7"),
        (_bad(ranking=[[1], [0, -1]]), "completion -1"),
        (_bad(ranking=[[1], [0, 1, 2]]), "twice"),
        (_bad(ranking=[[1], [0]]), "leaves out"),
        (_bad(ranking=[[1], [], [0, 2]]), "tier 1 of 'ranking' is empty"),
        (_bad(ranking=[]), "non-empty list"),
        (_bad(ranking=[[1], ["0", 2]]), "not a completion index"),
        (_bad(completions=["only"], ranking=[[0]]), "K must be 2 to 9"),
        (_bad(completions=[str(i) for i in range(10)], ranking=[list(range(10))]), "K must be 2 to 9"),
        (_bad(completions=["hi", " ", "yo"]), "completion 1 must be a non-empty string"),
        (_bad(prompt=""), "'prompt' must be a non-empty string"),
        (_bad(labeler=3), "'labeler'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, message):
    path = _write(tmp_path, [GOOD, GOOD, bad_line, GOOD])
    with pytest.raises(InputError) as caught:
        read_rankings(path)
    assert caught.value.line == 3 and caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}:3: ") and message in str(caught.value)


def test_the_apps_export_keys_are_read_past(tmp_path):
    # labeling's rankings export: task_id, and the labeler's scores, flags and comment by completion index.
    exported = {**GOOD, "task_id": 7, "scores": [5, None, 3], "flags": [[], ["harmful"], []], "comment": "ok"}
    (ranking,) = read_rankings(_write(tmp_path, [exported]))
    assert ranking == read_rankings(_write(tmp_path, [GOOD]))[0]


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_rankings(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="no rankings"):
        read_rankings(_write(tmp_path, [""]))


def test_pairs_drop_ties_and_write_atomically(tmp_path):
    rankings = read_rankings(_write(tmp_path, [GOOD]))
    assert pairs_from_rankings(rankings) == [
        {"prompt": "Say hi", "chosen": "hello", "rejected": "hi"},
        {"prompt": "Say hi", "chosen": "hello", "rejected": "yo"},
    ]
    out = tmp_path / "sub" / "pairs.jsonl"
    assert write_pairs(rankings, out) == 2
    assert [json.loads(line)["rejected"] for line in out.read_text().splitlines()] == ["hi", "yo"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["pairs.jsonl"]  # no temp file left


def test_conversation_rankings_keep_their_messages_and_give_conversational_pairs(tmp_path):
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]
    rankings = read_rankings(_write(tmp_path, [{**GOOD, "prompt": conversation}, GOOD]))
    assert rankings[0].prompt[1].content == "Say hi" and rankings[1].prompt == "Say hi"
    pairs = pairs_from_rankings(rankings)
    assert pairs[0] == {"prompt": conversation, "chosen": [{"role": "assistant", "content": "hello"}],
                        "rejected": [{"role": "assistant", "content": "hi"}]}
    assert pairs[2] == {"prompt": "Say hi", "chosen": "hello", "rejected": "hi"}


@pytest.mark.parametrize("prompt, message", [
    ([{"role": "user"}], "'prompt[0].content' must be a non-empty string"),
    ([{"role": "assistant", "content": "x"}], "must end with a user message"),
    ("  ", "'prompt' must be a non-empty string"),
    ([{"role": "user", "content": "x"}] * 65, "at most 64"),
])
def test_bad_conversations_are_refused_with_the_line(tmp_path, prompt, message):
    with pytest.raises(InputError, match=f":2: .*{re.escape(message)}"):
        read_rankings(_write(tmp_path, [GOOD, {**GOOD, "prompt": prompt}]))

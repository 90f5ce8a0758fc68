"""Exports of tasks whose prompt is a conversation: messages in the JSONL formats, plain text in CSV."""
from __future__ import annotations

import csv
import io
import json

from django.core.management import call_command

from labeling.models import Prompt
from labeling.services.exports import export_stream, export_to_path
from labeling.services.prompts import prompt_fields
from tests.labeling.export_data import export_filters, rank

CONVERSATION = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a fruit."},
                {"role": "assistant", "content": "Apple."}, {"role": "user", "content": "=Another one?"}]
TEXT = "System: You are terse.\n\nUser: Name a fruit.\n\nAssistant: Apple.\n\nUser: =Another one?"


def records(fmt, **kwargs):
    return [json.loads(line) for line in export_stream(fmt=fmt, filters=export_filters(), **kwargs)]


def conversation_task(task_factory, texts=("pear", "car", "plum")):
    task = task_factory(k=len(texts), texts=list(texts))
    Prompt.objects.filter(pk=task.prompt_id).update(**prompt_fields(CONVERSATION))
    return task


def answer(text):
    return [{"role": "assistant", "content": text}]


def trl(pair):
    """A pairs row's TRL columns and labeler (scores, flags and comment are tested in test_exports_labels)."""
    return {key: pair[key] for key in ("prompt", "chosen", "rejected", "labeler") if key in pair}


def test_rankings_write_the_conversation_as_its_messages(task_factory, labeler):
    conversation, text = conversation_task(task_factory), task_factory(k=2, texts=["x", "y"], prompt_text="Say x.")
    rank(conversation, labeler, [[0], [1, 2]])
    rank(text, labeler, [[1], [0]])
    assert [(r["prompt"], r["completions"], r["ranking"]) for r in records("rankings")] == [
        (CONVERSATION, ["pear", "car", "plum"], [[0], [1, 2]]), ("Say x.", ["x", "y"], [[1], [0]])]


def test_pairs_of_a_conversation_are_trl_conversational_pairs(task_factory, labeler, other_labeler):
    conversation = conversation_task(task_factory)
    text = task_factory(k=2, texts=["x", "y"], prompt_text="Say x.")
    rank(conversation, labeler, [[0], [1, 2]])
    rank(conversation, other_labeler, [[0], [2], [1]])
    rank(text, labeler, [[0], [1]])
    per_labeler = records("pairs")
    assert sorted((p["labeler"], p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in per_labeler
                  if p["prompt"] == CONVERSATION) == [
        ("alice", "pear", "car"), ("alice", "pear", "plum"), ("bob", "pear", "car"), ("bob", "pear", "plum"),
        ("bob", "plum", "car")]
    assert all(p["chosen"] == answer(p["chosen"][0]["content"]) and len(p["rejected"]) == 1
               and p["rejected"][0]["role"] == "assistant" for p in per_labeler if p["prompt"] == CONVERSATION)
    assert [trl(p) for p in per_labeler if p["prompt"] == "Say x."] == [
        {"prompt": "Say x.", "chosen": "x", "rejected": "y", "labeler": "alice"}]
    majority = [trl(p) for p in records("pairs", pairs_mode="majority")]
    assert {"prompt": CONVERSATION, "chosen": answer("pear"), "rejected": answer("car")} in majority
    assert {"prompt": "Say x.", "chosen": "x", "rejected": "y"} in majority


def test_csv_keeps_the_plain_text_and_still_neutralises_formulas(task_factory, labeler):
    conversation = conversation_task(task_factory, texts=("=1+1", "fine"))
    rank(conversation, labeler, [[1], [0]])
    header, row = list(csv.reader(io.StringIO("".join(export_stream(fmt="csv", filters=export_filters())))))
    cells = dict(zip(header, row))
    assert (cells["prompt"], cells["completion_0"], cells["completion_1"]) == (TEXT, "'=1+1", "fine")


def test_a_dataset_with_conversations_writes_every_prompt_as_messages(task_factory, labeler, tmp_path):
    # datasets.load_dataset needs one type per column: the string prompt becomes one user message.
    rank(conversation_task(task_factory), labeler, [[0], [1], [2]])
    rank(task_factory(k=2, texts=["x", "y"], prompt_text="Say x."), labeler, [[0], [1]])
    export_to_path(fmt="hf", path=tmp_path / "ds", filters=export_filters())
    pairs = [json.loads(line) for line in (tmp_path / "ds" / "train.jsonl").read_text().splitlines()]
    rankings = [json.loads(line) for line in (tmp_path / "ds" / "rankings.jsonl").read_text().splitlines()]
    assert {json.dumps(p["prompt"]) for p in pairs} == {json.dumps(CONVERSATION),
                                                        json.dumps([{"role": "user", "content": "Say x."}])}
    assert all(isinstance(p["chosen"], list) for p in pairs)
    assert [r["prompt"] for r in rankings] == [CONVERSATION, [{"role": "user", "content": "Say x."}]]


def test_a_dataset_of_strings_only_is_as_before(task_factory, labeler, tmp_path):
    rank(task_factory(k=2, texts=["x", "y"], prompt_text="Say x."), labeler, [[0], [1]])
    export_to_path(fmt="hf", path=tmp_path / "ds", filters=export_filters())
    assert trl(json.loads((tmp_path / "ds" / "train.jsonl").read_text())) == {
        "prompt": "Say x.", "chosen": "x", "rejected": "y", "labeler": "alice"}


def test_exported_conversational_pairs_import_back_as_the_same_pairs(task_factory, labeler, other_labeler, tmp_path):
    conversation = conversation_task(task_factory)
    rank(conversation, labeler, [[0], [1, 2]])
    rank(conversation, other_labeler, [[2], [1], [0]])
    exported = records("pairs")
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({**p, "labeler": "ext-" + p["labeler"]}) + "\n" for p in exported))
    call_command("import_preferences", str(path))
    key = lambda p: (json.dumps(p["prompt"]), json.dumps(p["chosen"]), json.dumps(p["rejected"]), p["labeler"])  # noqa: E731
    again = [p for p in records("pairs") if p["labeler"].startswith("ext-")]
    assert sorted(map(key, again)) == sorted(key({**p, "labeler": "ext-" + p["labeler"]}) for p in exported)
    assert set(Prompt.objects.exclude(pk=conversation.prompt_id).values_list("text", flat=True)) == {TEXT}

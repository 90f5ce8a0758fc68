"""Conversation prompts (TRL's messages) through ``import_prompts``, ``import_tasks`` and ``import_preferences``.

A conversation is stored with its messages and its plain text; a bad one is refused naming the line
and the message at fault, and nothing is written. CSV prompts stay strings.
"""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from labeling.import_formats import parse_prompts
from labeling.models import Completion, Prompt, Ranking, RankingTask
from modeling.formats.conversation import Message

User = get_user_model()

SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "Name a fruit."}
ASSISTANT = {"role": "assistant", "content": "Apple."}
CONVERSATION = [SYSTEM, USER, ASSISTANT, {"role": "user", "content": "Another one?"}]
TEXT = "System: You are terse.\n\nUser: Name a fruit.\n\nAssistant: Apple.\n\nUser: Another one?"
COMPLETIONS = ["Pear.", "A car."]


def write(tmp_path, rows, name="in.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def counts():
    return (Prompt.objects.count(), RankingTask.objects.count(), Completion.objects.count(), Ranking.objects.count(),
            User.objects.count())


def test_a_conversation_prompt_is_stored_with_its_messages_and_plain_text(db, tmp_path):
    call_command("import_prompts", write(tmp_path, [{"prompt": CONVERSATION, "id": "c-1", "metadata": {"k": 1}},
                                                    {"prompt": "Just text."}]))
    conversation, text = Prompt.objects.order_by("pk")
    assert (conversation.messages, conversation.text, conversation.value) == (CONVERSATION, TEXT, CONVERSATION)
    assert conversation.is_conversation and (conversation.external_id, conversation.metadata) == ("c-1", {"k": 1})
    assert (text.messages, text.text, text.value, text.is_conversation) == (None, "Just text.", "Just text.", False)


def test_a_conversation_task_is_imported_with_its_completions_and_gold(db, tmp_path):
    row = {"prompt": [USER], "completions": COMPLETIONS, "gold_ranking": [[0], [1]], "required_rankings": 2}
    call_command("import_tasks", write(tmp_path, [row]))
    (task,) = RankingTask.objects.all()
    ids = list(task.completions.order_by("pk").values_list("pk", flat=True))
    assert (task.prompt.messages, task.prompt.text) == ([USER], "User: Name a fruit.")
    assert (task.gold_tiers, task.required_rankings, task.task_set) == ([[ids[0]], [ids[1]]], 2, "in.jsonl")


def test_parsed_specs_hold_the_conversation_as_messages(db):
    (spec,) = parse_prompts([json.dumps({"prompt": CONVERSATION})])
    assert spec.value == (Message("system", "You are terse."), Message("user", "Name a fruit."),
                          Message("assistant", "Apple."), Message("user", "Another one?"))
    assert spec.text == TEXT


def test_ids_of_conversations_dedup_as_before(db, tmp_path):
    first = write(tmp_path, [{"prompt": CONVERSATION, "id": "c-1"}])
    call_command("import_prompts", first)
    with pytest.raises(CommandError, match="'c-1' is already in the database"):
        call_command("import_prompts", first)
    call_command("import_prompts", write(tmp_path, [{"prompt": CONVERSATION, "id": "c-1"},
                                                    {"prompt": [USER], "id": "c-2"}], name="again.jsonl"),
                 "--skip-existing")
    assert list(Prompt.objects.order_by("pk").values_list("external_id", flat=True)) == ["c-1", "c-2"]
    with pytest.raises(CommandError, match="line 2: \"id\" 'x' repeats line 1"):
        call_command("import_tasks", write(tmp_path, [{"prompt": [USER], "completions": COMPLETIONS, "id": "x"}] * 2))


def test_a_csv_prompt_stays_a_string_even_when_it_looks_like_messages(db, tmp_path):
    cell = json.dumps([USER]).replace('"', '""')
    path = tmp_path / "prompts.csv"
    path.write_text(f'prompt\n"{cell}"\n', encoding="utf-8")
    call_command("import_prompts", str(path))
    (prompt,) = Prompt.objects.all()
    assert (prompt.text, prompt.messages) == (json.dumps([USER]), None)


def _many(n):
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(n - 1)] + [
        {"role": "user", "content": "last"}]


BAD_CONVERSATIONS = {
    "empty list": ([], "line 2: \"prompt\" must be a non-empty string or a non-empty list of messages"),
    "a message not an object": ([USER, "hi"], "line 2: \"prompt[1]\" must be an object"),
    "unknown role": ([{"role": "bot", "content": "x"}, USER], "line 2: \"prompt[0].role\" is 'bot'"),
    "no role": ([{"content": "x"}], "line 2: \"prompt[0].role\" is None"),
    "empty content": ([{"role": "user", "content": ""}], "line 2: \"prompt[0].content\" must be a non-empty string"),
    "blank content": ([SYSTEM, {"role": "user", "content": "  \n"}], "\"prompt[1].content\" must be a non-empty"),
    "content not text": ([{"role": "user", "content": ["a"]}], "\"prompt[0].content\" must be a non-empty string"),
    "ends with the assistant": ([USER, ASSISTANT], "line 2: \"prompt\" must end with a user message, not 'assistant'"),
    "ends with a system message": ([SYSTEM], "\"prompt\" must end with a user message, not 'system'"),
    "system not first": ([USER, SYSTEM, USER], "line 2: \"prompt\" may have a system message only as its first"),
    "extra key": ([{**USER, "name": "ann"}], "line 2: \"prompt[0]\" has unknown key(s) ['name']"),
    "too many messages": (_many(65), "line 2: \"prompt\" has 65 messages; at most 64"),
    "a message over 20,000 characters": ([{"role": "user", "content": "x" * 20_001}],
                                         "line 2: \"prompt[0].content\" is longer than 20,000 characters"),
    "over 100,000 characters in all": ([{"role": "user" if i % 2 == 0 else "assistant", "content": "x" * 19_000}
                                        for i in range(7)], "line 2: \"prompt\" is longer than 100,000 characters"),
    "NUL in content": ([SYSTEM, {"role": "user", "content": "a\u0000b"}],
                       "line 2: \"prompt[1].content\" contains a NUL character or an unpaired surrogate"),
    "lone surrogate in content": ([{"role": "user", "content": "a\ud800b"}],
                                  "line 2: \"prompt[0].content\" contains a NUL character or an unpaired surrogate"),
}
GOOD_LINES = {"import_prompts": {"prompt": [USER]},
              "import_tasks": {"prompt": [USER], "completions": COMPLETIONS},
              "import_preferences": {"prompt": [USER], "chosen": "Pear.", "rejected": "A car."}}


@pytest.mark.parametrize("command", GOOD_LINES)
@pytest.mark.parametrize("case", BAD_CONVERSATIONS)
def test_a_bad_conversation_names_the_line_and_the_message_and_imports_nothing(db, tmp_path, command, case):
    prompt, message = BAD_CONVERSATIONS[case]
    good = GOOD_LINES[command]
    path = write(tmp_path, [good, {**good, "prompt": prompt}])
    before = counts()
    with pytest.raises(CommandError) as raised:
        call_command(command, path, *(["--labeler", "ext"] if command == "import_preferences" else []))
    assert message in str(raised.value) and "nothing was imported" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert counts() == before


def test_a_prompt_of_another_type_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match='line 1: "prompt" must be non-empty text or a list of messages'):
        call_command("import_prompts", write(tmp_path, [{"prompt": {"role": "user", "content": "x"}}]))
    assert not Prompt.objects.exists()


# --- conversational preference pairs

def answer(text):
    return [{"role": "assistant", "content": text}]


def test_conversational_pairs_become_tasks_with_a_conversation_prompt(db, tmp_path):
    pair = {"prompt": CONVERSATION, "chosen": answer("Pear."), "rejected": answer("A car.")}
    swapped = {**pair, "chosen": pair["rejected"], "rejected": pair["chosen"], "labeler": "ext-b"}
    mixed = {"prompt": [USER], "chosen": "Plum.", "rejected": answer("A bus.")}  # either form for each answer
    call_command("import_preferences", write(tmp_path, [pair, swapped, mixed]), "--labeler", "ext-a")
    task = RankingTask.objects.get(prompt__messages=CONVERSATION)
    pear, car = task.completions.order_by("pk")
    assert (task.prompt.text, pear.text, car.text, task.required_rankings) == (TEXT, "Pear.", "A car.", 2)
    assert sorted((r.labeler.username, r.tiers) for r in task.rankings.all()) == [
        ("ext-a", [[pear.pk], [car.pk]]), ("ext-b", [[car.pk], [pear.pk]])]
    other = RankingTask.objects.exclude(pk=task.pk).get()
    assert other.prompt.messages == [USER]
    assert list(other.completions.order_by("pk").values_list("text", flat=True)) == ["Plum.", "A bus."]


def test_a_string_and_a_conversation_of_the_same_words_are_different_prompts(db, tmp_path):
    as_text = {"prompt": "User: Name a fruit.", "chosen": "Pear.", "rejected": "A car."}
    as_messages = {**as_text, "prompt": [USER]}
    call_command("import_preferences", write(tmp_path, [as_text, as_messages]), "--labeler", "ext")
    prompts = list(Prompt.objects.order_by("pk"))
    assert [(p.text, p.messages) for p in prompts] == [("User: Name a fruit.", None), ("User: Name a fruit.", [USER])]
    assert RankingTask.objects.count() == 2


PAIR = {"prompt": [USER], "chosen": answer("Pear."), "rejected": answer("A car.")}
ONE_MESSAGE = 'must be text or a list of one message {"role": "assistant", "content": text}'
BAD_PAIRS = {
    "two messages": ({**PAIR, "chosen": answer("a") + answer("b")}, f'line 2: "chosen" {ONE_MESSAGE}'),
    "no message": ({**PAIR, "rejected": []}, f'line 2: "rejected" {ONE_MESSAGE}'),
    "a user message": ({**PAIR, "chosen": [USER]}, f'line 2: "chosen" {ONE_MESSAGE}'),
    "extra key": ({**PAIR, "chosen": [{**answer("a")[0], "name": "x"}]}, f'line 2: "chosen" {ONE_MESSAGE}'),
    "not an object": ({**PAIR, "chosen": ["Pear."]}, f'line 2: "chosen" {ONE_MESSAGE}'),
    "empty content": ({**PAIR, "rejected": answer(" ")}, 'line 2: "rejected[0].content" must be non-empty text'),
    "content too long": ({**PAIR, "chosen": answer("x" * 20_001)}, '"chosen[0].content" is longer than 20,000'),
    "NUL in content": ({**PAIR, "chosen": answer("a\u0000")}, '"chosen[0].content" contains a NUL character'),
    "the same answer": ({**PAIR, "rejected": answer("Pear.")}, 'line 2: "chosen" and "rejected" are the same text'),
    "bad prompt": ({**PAIR, "prompt": [ASSISTANT]}, 'line 2: "prompt" must end with a user message'),
}


@pytest.mark.parametrize("case", BAD_PAIRS)
def test_a_bad_conversational_pair_names_the_line_and_imports_nothing(db, tmp_path, case):
    row, message = BAD_PAIRS[case]
    before = counts()
    with pytest.raises(CommandError) as raised:
        call_command("import_preferences", write(tmp_path, [PAIR, row]), "--labeler", "ext")
    assert message in str(raised.value) and "nothing was imported" in str(raised.value)
    assert counts() == before

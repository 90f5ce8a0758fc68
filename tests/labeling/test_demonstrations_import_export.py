"""import_demonstration_tasks and export_demonstrations: TRL prompt-completion JSONL, both ways.

Each refused file is one line naming what is wrong (its line where it is a line), and nothing is
written: no prompt, task or demonstration."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Demonstration, DemonstrationTask, Project, Prompt
from tests.factories import UserFactory

CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A fruit?"}]


def _write(tmp_path, lines, name="demos.jsonl"):
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
                    encoding="utf-8")
    return str(path)


def test_prompts_become_write_tasks_and_completions_accepted_demonstrations(db, tmp_path, capsys):
    writer = UserFactory(username="writer")
    path = _write(tmp_path, [{"prompt": "Say hi.", "id": "p1", "metadata": {"src": "x"}},
                             {"prompt": CONVERSATION, "completion": [{"role": "assistant", "content": "Apple."}]},
                             {"prompt": "Say no.", "completion": "No."}])
    call_command("import_demonstration_tasks", path, "--labeler", "writer", "--required", "2")
    assert "Imported 3 demonstration tasks (2 with their demonstration written)" in capsys.readouterr().out
    tasks = list(DemonstrationTask.objects.order_by("pk"))
    assert [t.required_demonstrations for t in tasks] == [2, 2, 2] and {t.task_set for t in tasks} == {"demos.jsonl"}
    assert tasks[0].prompt.external_id == "p1" and tasks[0].prompt.metadata == {"src": "x"}
    assert tasks[1].prompt.messages == CONVERSATION
    written = list(Demonstration.objects.order_by("pk"))
    assert [(d.task, d.labeler, d.text, d.review_status) for d in written] == [
        (tasks[1], writer, "Apple.", "accepted"), (tasks[2], writer, "No.", "accepted")]


def test_export_then_import_round_trips(db, tmp_path, capsys):
    UserFactory(username="writer")
    source = _write(tmp_path, [{"prompt": "Say hi.", "completion": "Hi!"},
                               {"prompt": CONVERSATION, "completion": "Pear."},
                               {"prompt": "Unanswered."}])
    call_command("import_demonstration_tasks", source, "--labeler", "writer")
    Demonstration.objects.filter(text="Pear.").update(review_status="corrected", corrected_text="Apple.")
    out = tmp_path / "out.jsonl"
    call_command("export_demonstrations", str(out))
    assert "Wrote 2 demonstrations" in capsys.readouterr().out
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["prompt"], r["completion"], r["labeler"], r["review_status"]) for r in records] == [
        ("Say hi.", "Hi!", "writer", "accepted"), (CONVERSATION, "Apple.", "writer", "corrected")]
    other = Project.objects.create(slug="copy", name="Copy")
    call_command("import_demonstration_tasks", str(out), "--project", "copy", "--labeler", "writer")
    copied = Demonstration.objects.filter(task__prompt__project=other).order_by("pk")
    assert [(d.task.prompt.value, d.text) for d in copied] == [("Say hi.", "Hi!"), (CONVERSATION, "Apple.")]


def test_export_leaves_rejected_out_unless_asked(db, tmp_path):
    UserFactory(username="writer")
    call_command("import_demonstration_tasks", _write(tmp_path, [{"prompt": "A?", "completion": "a"},
                                                                 {"prompt": "B?", "completion": "b"}]),
                 "--labeler", "writer")
    Demonstration.objects.filter(text="b").update(review_status="rejected")
    out = tmp_path / "out.jsonl"
    call_command("export_demonstrations", str(out))
    assert [json.loads(line)["completion"] for line in out.read_text().splitlines()] == ["a"]
    call_command("export_demonstrations", "--include-rejected", str(out))
    assert [json.loads(line)["completion"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_export_refuses_a_missing_directory_and_an_unknown_project(db, tmp_path):
    with pytest.raises(CommandError, match="no such directory"):
        call_command("export_demonstrations", str(tmp_path / "nope" / "out.jsonl"))
    with pytest.raises(CommandError, match="No project 'nope'"):
        call_command("export_demonstrations", "--project", "nope", str(tmp_path / "out.jsonl"))
    assert not (tmp_path / "out.jsonl").exists()


GOOD = {"prompt": "Say hi."}
# name -> (the lines, extra arguments, words of the one error line)
REFUSED = {
    "not JSON": ([GOOD, "{oops"], [], "line 2: not valid JSON"),
    "not an object": ([GOOD, "[1, 2]"], [], "line 2: each line must be a JSON object"),
    "no prompt": ([GOOD, {"completion": "Hi"}], [], 'line 2: "prompt" must be non-empty text or a list of messages'),
    "empty prompt": ([{"prompt": "  "}], [], 'line 1: "prompt" must be non-empty text'),
    "bad conversation": ([GOOD, {"prompt": [{"role": "assistant", "content": "Hi"}]}], [], "line 2:"),
    "empty completion": ([GOOD, {"prompt": "A?", "completion": ""}], ["--labeler", "writer"],
                         'line 2: "completion" must be non-empty text'),
    "completion not a message list": ([{"prompt": "A?", "completion": [{"role": "user", "content": "x"}]}],
                                      ["--labeler", "writer"], 'line 1: "completion" must be text or a list'),
    "completion over the project's limit": ([GOOD, {"prompt": "A?", "completion": "x" * 8001}],
                                            ["--labeler", "writer"], "line 2: The answer is 8,001 characters"),
    "completion without --labeler": ([GOOD, {"prompt": "A?", "completion": "a"}], [],
                                     'line 2: has a "completion" but no --labeler'),
    "unknown --labeler": ([{"prompt": "A?", "completion": "a"}], ["--labeler", "nobody"], "no user 'nobody'"),
    "repeated id": ([{"prompt": "A?", "id": "x"}, {"prompt": "B?", "id": "x"}], [],
                    "line 2: \"id\" 'x' repeats line 1"),
    "bad metadata": ([{"prompt": "A?", "metadata": [1]}], [], 'line 1: "metadata" must be a JSON object'),
    "no lines": ([], [], "holds no prompts"),
    "required out of range": ([GOOD], ["--required", "51"], "required must be a whole number from 1 to 50"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_each_refused_file_is_one_line_and_imports_nothing(db, tmp_path, name):
    UserFactory(username="writer")
    lines, args, words = REFUSED[name]
    path = _write(tmp_path, lines)
    with pytest.raises(CommandError) as refused:
        call_command("import_demonstration_tasks", path, *args)
    message = str(refused.value)
    assert words in message and "nothing was imported" in message and "\n" not in message
    assert not Prompt.objects.exists() and not DemonstrationTask.objects.exists()
    assert not Demonstration.objects.exists()


def test_an_id_already_in_the_project_is_refused(db, tmp_path):
    call_command("import_demonstration_tasks", _write(tmp_path, [{"prompt": "A?", "id": "x"}]))
    with pytest.raises(CommandError, match="id 'x' is already in the database"):
        call_command("import_demonstration_tasks", _write(tmp_path, [{"prompt": "B?"}, {"prompt": "C?", "id": "x"}],
                                                          name="again.jsonl"))
    assert Prompt.objects.count() == 1 and DemonstrationTask.objects.count() == 1

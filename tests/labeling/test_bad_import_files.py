"""Malformed import files for ``import_tasks`` and ``import_prompts``: one table, both commands.

Each file is refused with one line (a ``CommandError`` without a line break, which ``manage.py``
prints as one line and exits 1) and nothing is written: the prompts, tasks and completions already in
the database are exactly as before. ``test_import_commands.py`` covers bad *lines* of a good file;
this table covers broken *files* (encoding, shape, size, unreadable paths) and characters no database
can store (docs/RELIABILITY.md, "Bad input").
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from labeling.models import Completion, Prompt, RankingTask

TASK = {"prompt": "List 2 fruits.", "completions": ["apple, pear", "apple apple"]}
PROMPT = {"prompt": "List 2 fruits."}
GOOD = {"import_tasks": TASK, "import_prompts": PROMPT}


def _line(command: str, **overrides) -> str:
    return json.dumps({**GOOD[command], **overrides})


# name -> (file contents as bytes built for the command, or a Path maker; phrase of the error by command)
FILES = {
    "empty file": (lambda c: b"", {"import_tasks": "holds no tasks", "import_prompts": "holds no prompts"}),
    "blank lines only": (lambda c: b"\n   \n\t\n", {"import_tasks": "holds no tasks",
                                                     "import_prompts": "holds no prompts"}),
    "Latin-1, not UTF-8": (lambda c: json.dumps({**GOOD[c], "prompt": "Caf\u00e9?"}, ensure_ascii=False).encode("latin-1"),
                           "cannot read it"),
    "gzip-compressed": (lambda c: gzip.compress(_line(c).encode()), "cannot read it"),
    "UTF-16": (lambda c: _line(c).encode("utf-16"), "cannot read it"),
    "one JSON array of records": (lambda c: json.dumps([GOOD[c], GOOD[c]]).encode(),
                                  "line 1: each line must be a JSON object"),
    "pretty-printed JSON": (lambda c: json.dumps(GOOD[c], indent=2).encode(), "line 1: not valid JSON"),
    "CSV": (lambda c: b"prompt,completions\nList 2 fruits.,apple\n", "line 1: not valid JSON"),
    "last line cut off": (lambda c: (_line(c) + "\n" + _line(c, prompt="Other?")[:-9]).encode(),
                          "line 2: not valid JSON"),
    "trailing garbage": (lambda c: (_line(c) + " }").encode(), "line 1: not valid JSON"),
    "a null line": (lambda c: (_line(c) + "\nnull\n").encode(), "line 2: each line must be a JSON object"),
    "raw NUL byte": (lambda c: _line(c).replace("fruits", "fr\x00uits").encode(), "line 1: not valid JSON"),
    "nested 100,000 deep": (lambda c: (_line(c) + "\n" + "[" * 100_000).encode(), "line 2: not valid JSON"),
    "a 5,000-digit number": (lambda c: (_line(c) + '\n{"prompt": ' + "9" * 5000 + "}").encode(),
                             "line 2: not valid JSON"),
    "prompt over 20,000 characters": (lambda c: _line(c, prompt="x" * 20_001).encode(), "line 1: \"prompt\" is longer"),
    "NUL character in the prompt": (lambda c: (_line(c) + "\n" + _line(c, prompt="a\u0000b")).encode(),
                                    "line 2: \"prompt\" contains a NUL character or an unpaired surrogate"),
    "lone surrogate in the prompt": (lambda c: (_line(c) + "\n" + _line(c, prompt="a\ud800b")).encode(),
                                     "line 2: \"prompt\" contains a NUL character or an unpaired surrogate"),
    "a directory": ("directory", "is a directory, not a file"),
    "no such file": ("missing", "no such file"),
}
COMMANDS = ["import_tasks", "import_prompts"]


def _path(tmp_path: Path, command: str, name: str) -> str:
    make, _ = FILES[name]
    if make == "directory":
        (tmp_path / "a-dir.jsonl").mkdir()
        return str(tmp_path / "a-dir.jsonl")
    if make == "missing":
        return str(tmp_path / "nope.jsonl")
    path = tmp_path / "in.jsonl"
    path.write_bytes(make(command))
    return str(path)


def _says(name: str, command: str) -> str:
    says = FILES[name][1]
    return says[command] if isinstance(says, dict) else says


def snapshot() -> tuple:
    return (
        sorted(Prompt.objects.values_list("pk", "text", "external_id")),
        sorted(RankingTask.objects.values_list("pk", "prompt_id", "task_set", "gold_tiers")),
        sorted(Completion.objects.values_list("pk", "task_id", "text")),
    )


@pytest.fixture
def existing(db, tmp_path):
    """Rows already in the database, so 'nothing written' is checked against a non-empty one."""
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "tasks.jsonl").write_text(json.dumps({**TASK, "id": "t-1"}) + "\n")
    (seed / "prompts.jsonl").write_text(json.dumps({"prompt": "Seeded prompt", "id": "p-1"}) + "\n")
    call_command("import_tasks", str(seed / "tasks.jsonl"))
    call_command("import_prompts", str(seed / "prompts.jsonl"))
    return snapshot()


def test_the_table_is_large_enough():
    assert len(FILES) * len(COMMANDS) >= 10


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_file_is_refused_in_one_line_and_writes_nothing(existing, tmp_path, command, name):
    path = _path(tmp_path, command, name)
    with pytest.raises(CommandError) as info:
        call_command(command, path)
    message = str(info.value)
    assert _says(name, command) in message
    assert message.startswith(path) and "\n" not in message and len(message) < 400
    assert snapshot() == existing


@pytest.mark.parametrize("command", COMMANDS)
def test_the_good_line_of_these_files_is_accepted(existing, tmp_path, command):
    """The table's files differ from an importable one only by what the row names."""
    path = tmp_path / "good.jsonl"
    path.write_text(_line(command, prompt="Name 3 colours.") + "\n")
    call_command(command, str(path))
    assert snapshot() != existing


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_manage_py_exits_1_with_one_line_on_stderr(tmp_path, command):
    """The real command line: exit status 1 and a single line, no traceback (the file is refused
    before the database is touched, so an empty SQLite file stands in for it)."""
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(gzip.compress(b"{}"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "manage.py", command, str(bad)], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"CommandError: {bad}: cannot read it "
                                                  f"('utf-8' codec can't decode byte 0x8b in position 1: "
                                                  f"invalid start byte)"]
    assert result.stdout == ""

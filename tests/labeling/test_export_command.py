"""``manage.py export_preferences``: every format to a file, and one clear line for each bad argument."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.labeling.export_data import make_round, rank, sample_into_round


@pytest.fixture
def ranked(task_factory, labeler, other_labeler):
    first, second = task_factory(k=3), task_factory(k=2, gold_tiers=[[0], [1]])
    rank(first, labeler, [[0], [1, 2]])
    rank(first, other_labeler, [[2], [1], [0]])
    rank(second, labeler, [[0], [1]])
    return first, second


def test_each_format_to_a_file(ranked, tmp_path, capsys):
    call_command("export_preferences", "--format", "rankings", "--out", str(tmp_path / "r.jsonl"))
    assert "Wrote 2 rankings from 2 rankings" in capsys.readouterr().out  # gold left out
    call_command("export_preferences", "--format", "rankings", "--include-gold", "--out", str(tmp_path / "g.jsonl"))
    assert len((tmp_path / "g.jsonl").read_text().splitlines()) == 3
    call_command("export_preferences", "--format", "pairs", "--out", str(tmp_path / "p.jsonl"), "--labeler", "bob")
    pairs = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(pairs) == 3 and {p["labeler"] for p in pairs} == {"bob"}
    call_command("export_preferences", "--format", "pairs", "--pairs", "majority", "--out", str(tmp_path / "m.jsonl"))
    # alice: a>b, a>c (b=c tie); bob: c>b>a -> a vs b and a vs c split 1:1, b vs c only bob: c>b
    assert [json.loads(line)["chosen"] for line in (tmp_path / "m.jsonl").read_text().splitlines()] == [
        ranked[0].completions.order_by("pk")[2].text]
    call_command("export_preferences", "--format", "csv", "--out", str(tmp_path / "r.csv"))
    assert "Wrote 2 CSV rows" in capsys.readouterr().out
    call_command("export_preferences", "--format", "hf", "--out", str(tmp_path / "ds"))
    assert (tmp_path / "ds" / "README.md").is_file()


def test_round_and_dates(ranked, tmp_path, capsys):
    training_round = make_round()
    sample_into_round(ranked[0], training_round)
    out = tmp_path / "r.jsonl"
    call_command("export_preferences", "--format", "rankings", "--out", str(out), "--round", str(training_round.pk),
                 "--since", "2000-01-01", "--until", "2999-12-31", "--min-agreement", "0")
    assert {json.loads(line)["task_id"] for line in out.read_text().splitlines()} == {ranked[0].pk}


BAD_ARGS = {
    "no format": ([], "--format is required"),
    "unknown format": (["--format", "xml"], "Unknown export format 'xml'"),
    "no out": (["--format", "pairs", "--out", ""], "--out is required"),
    "unknown pairs mode": (["--format", "pairs", "--pairs", "sometimes"], "Unknown pairs mode 'sometimes'"),
    "unknown round": (["--format", "pairs", "--round", "4242"], "There is no round 4242"),
    "round not a number": (["--format", "pairs", "--round", "last"],
                           "round must be a whole number \\(an id\\), not 'last'"),
    "unknown labeler": (["--format", "pairs", "--labeler", "zed"], "no labeler named 'zed'"),
    "agreement not a number": (["--format", "pairs", "--min-agreement", "high"], "min_agreement must be a number"),
    "agreement out of range": (["--format", "pairs", "--min-agreement", "2"], "from 0 to 1"),
    "bad date": (["--format", "pairs", "--since", "yesterday"], "since must be a valid date as YYYY-MM-DD"),
    "since after until": (["--format", "pairs", "--since", "2024-05-02", "--until", "2024-05-01"], "after until"),
    "missing directory": (["--format", "pairs", "--out", "{tmp}/nope/p.jsonl"], "no such directory"),
    "out is a directory": (["--format", "csv", "--out", "{tmp}"], "is a directory"),
}


@pytest.mark.parametrize("case", BAD_ARGS)
def test_bad_arguments_are_one_clear_error_and_write_nothing(ranked, tmp_path, case):
    args, message = BAD_ARGS[case]
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out.jsonl")]
    with pytest.raises(CommandError, match=message):
        call_command("export_preferences", *args)
    assert list(tmp_path.iterdir()) == []


def test_from_the_shell_a_bad_argument_is_one_line_and_exit_1(tmp_path):
    # Database-free failure: argument checks come before any query.
    result = subprocess.run([sys.executable, "manage.py", "export_preferences", "--format", "xml", "--out",
                             str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: Unknown export format 'xml': choose rankings, pairs, csv, hf."]
    assert list(tmp_path.iterdir()) == []

"""labeling/services/exports.py: formats, pairs modes, filters, bounded queries, whole-or-nothing files."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Ranking
from labeling.services.exports import ExportError, export_stream, export_to_path
from tests.factories import UserFactory
from tests.labeling.export_data import export_filters, make_round, rank, sample_into_round


def lines(fmt, filters=None, **kwargs):
    return list(export_stream(fmt=fmt, filters=filters or export_filters(), **kwargs))


def records(fmt, filters=None, **kwargs):
    return [json.loads(line) for line in lines(fmt, filters, **kwargs)]


@pytest.fixture
def three(db):
    return [UserFactory(username=name) for name in ("ann", "ben", "cid")]


def test_rankings_are_the_k_way_records_of_design_md(task_factory, labeler):
    task = task_factory(k=3, texts=["a", "b", "c"])
    rank(task, labeler, [[2], [0, 1]])
    (record,) = records("rankings")
    assert record == {"prompt": task.prompt.text, "completions": ["a", "b", "c"], "ranking": [[2], [0, 1]],
                      "labeler": "alice", "task_id": task.pk, "scores": [None, None, None], "flags": [[], [], []],
                      "comment": ""}
    assert all(line.endswith("\n") for line in lines("rankings"))


def test_per_labeler_pairs_drop_ties_and_name_the_labeler(task_factory, labeler, other_labeler):
    task = task_factory(k=3, texts=["a", "b", "c"])
    rank(task, labeler, [[2], [0, 1]])  # c>a, c>b; a=b dropped
    rank(task, other_labeler, [[0], [1], [2]])  # a>b, a>c, b>c
    pairs = records("pairs")
    assert sorted((p["chosen"], p["rejected"], p["labeler"]) for p in pairs) == [
        ("a", "b", "bob"), ("a", "c", "bob"), ("b", "c", "bob"), ("c", "a", "alice"), ("c", "b", "alice")]
    assert {p["prompt"] for p in pairs} == {task.prompt.text}
    assert records("pairs", pairs_mode="drop_ties") == pairs  # the interface's name for the default


def test_majority_pairs_keep_what_most_labelers_ordered(task_factory, three):
    task = task_factory(k=3, texts=["a", "b", "c"])
    rank(task, three[0], [[0], [1], [2]])
    rank(task, three[1], [[0], [2], [1]])
    rank(task, three[2], [[1, 0], [2]])  # ties a=b: no vote on (a, b)
    pairs = records("pairs", pairs_mode="majority")
    # a>b 2:0, a>c 3:0, b vs c 2 (b>c) : 1 (c>b)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert set(pairs[0]) == {"prompt", "chosen", "rejected", "chosen_mean_score", "rejected_mean_score",
                             "chosen_flags", "rejected_flags"}  # no one labeler's name, score or comment


def test_majority_drops_an_even_split(task_factory, labeler, other_labeler):
    task = task_factory(k=2, texts=["a", "b"])
    rank(task, labeler, [[0], [1]])
    rank(task, other_labeler, [[1], [0]])
    assert records("pairs", pairs_mode="majority") == []
    assert len(records("pairs")) == 2


def test_csv_neutralises_formulas_and_reads_back(task_factory):
    evil = UserFactory(username="@evil")
    task = task_factory(k=3, texts=["=HYPERLINK(\"http://x\")", "-1+2", "\tplain, with \"quotes\"\nand a newline"],
                        prompt_text="+SUM(A1:A2)")
    ranking = rank(task, evil, [[1], [0], [2]])
    rows = list(csv.reader(io.StringIO("".join(lines("csv")))))
    header, row = rows
    cells = dict(zip(header, row))
    assert cells["labeler"] == "'@evil" and cells["prompt"] == "'+SUM(A1:A2)"
    assert cells["completion_0"] == "'=HYPERLINK(\"http://x\")" and cells["completion_1"] == "'-1+2"
    assert cells["completion_2"] == "'\tplain, with \"quotes\"\nand a newline"
    assert (cells["ranking"], cells["k"], cells["completion_3"]) == ("[[1], [0], [2]]", "3", "")
    assert int(cells["ranking_id"]) == ranking.pk and header[:7 + 9] == [
        "ranking_id", "task_id", "labeler", "created_at", "prompt", "ranking", "k"] + [f"completion_{i}" for i in range(9)]


def test_gold_tasks_are_left_out_unless_asked(task_factory, labeler):
    gold = task_factory(k=2, gold_tiers=[[0], [1]])
    plain = task_factory(k=2)
    rank(gold, labeler, [[0], [1]])
    rank(plain, labeler, [[1], [0]])
    assert [r["task_id"] for r in records("rankings")] == [plain.pk]
    assert [r["task_id"] for r in records("rankings", export_filters(include_gold=True))] == [gold.pk, plain.pk]


def test_filters_by_round_labeler_and_dates(task_factory, labeler, other_labeler):
    training_round = make_round()
    in_round = sample_into_round(task_factory(k=2), training_round)
    other = task_factory(k=2)
    for task in (in_round, other):
        rank(task, labeler, [[0], [1]])
        rank(task, other_labeler, [[1], [0]])
    old = Ranking.objects.filter(task=other, labeler=labeler)
    old.update(created_at=timezone.now() - dt.timedelta(days=10))
    today = timezone.now().astimezone(dt.timezone.utc).date()

    def who(filters):
        return sorted((r["task_id"], r["labeler"]) for r in records("rankings", filters))

    assert who(export_filters(round=training_round.pk)) == [(in_round.pk, "alice"), (in_round.pk, "bob")]
    assert who(export_filters(labeler="bob")) == [(in_round.pk, "bob"), (other.pk, "bob")]
    assert who(export_filters(until=today - dt.timedelta(days=5))) == [(other.pk, "alice")]
    assert len(who(export_filters(since=today))) == 3
    assert who(export_filters(since=today, until=today, labeler="alice", round=training_round.pk)) == [
        (in_round.pk, "alice")]


def test_min_agreement_keeps_tasks_whose_labelers_agree(task_factory, three):
    agreed, split, single = task_factory(k=3), task_factory(k=3), task_factory(k=3)
    rank(agreed, three[0], [[0], [1], [2]])
    rank(agreed, three[1], [[0], [1], [2]])
    rank(split, three[0], [[0], [1], [2]])
    rank(split, three[1], [[2], [1], [0]])
    rank(single, three[2], [[0], [1], [2]])  # nothing to agree with: no figure, left out
    # The agreement cache is brought up to date by the export itself.
    assert {r["task_id"] for r in records("rankings", export_filters(min_agreement="0.5"))} == {agreed.pk}
    assert {r["task_id"] for r in records("rankings", export_filters(min_agreement="0"))} == {agreed.pk, split.pk}


BAD_CALLS = {
    "unknown format": (dict(fmt="parquet"), "Unknown export format 'parquet'"),
    "hf is not streamed": (dict(fmt="hf"), "Unknown export format 'hf'"),
    "unknown pairs mode": (dict(fmt="pairs", pairs_mode="best"), "Unknown pairs mode 'best'"),
}


@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_arguments_raise_a_value_error_before_the_first_line(db, case):
    kwargs, message = BAD_CALLS[case]
    kwargs = {"fmt": "rankings", "filters": export_filters(), **kwargs}
    with pytest.raises(ExportError, match=message) as caught:
        export_stream(**kwargs)  # not iterated: the error comes from the call itself
    assert isinstance(caught.value, ValueError) and caught.value.status == 400


# The filters are checked where they are built (labeling.selectors.rankings), before any export starts.
BAD_FILTERS = {
    "unknown round": (dict(round=999), "round", "no round 999"),
    "round not an id": (dict(round="3rd"), "round", "round must be a whole number"),
    "unknown labeler": (dict(labeler="nobody"), "labeler", "no labeler named 'nobody'"),
    "agreement above 1": (dict(min_agreement="1.5"), "min_agreement", "min_agreement must be a number from 0 to 1"),
    "agreement nan": (dict(min_agreement="nan"), "min_agreement", "min_agreement"),
    "since after until": (dict(since="2024-02-01", until="2024-01-01"), "since", "must not be after until"),
    "since not a date": (dict(since="2024-1-1"), "since", "since must be a valid date"),
}


@pytest.mark.parametrize("case", BAD_FILTERS)
def test_bad_filters_are_refused_naming_the_field(db, case):
    inputs, field, message = BAD_FILTERS[case]
    with pytest.raises(RejectedInput, match=message) as caught:
        export_filters(**inputs)
    assert caught.value.field == field and caught.value.status == 400


def test_streaming_reads_a_bounded_number_of_queries(task_factory, three, django_assert_max_num_queries):
    for n in range(40):
        task = task_factory(k=4)
        for user in three:
            rank(task, user, [[n % 4], [(n + 1) % 4, (n + 2) % 4], [(n + 3) % 4]])
    everything = export_filters()  # built (and checked) before the export reads anything
    # 120 rankings read through one cursor, their completions fetched once per chunk of 50.
    with django_assert_max_num_queries(1 + 3):
        exported = lines("pairs", everything, chunk_size=50)
    assert len(exported) == 120 * 5
    with django_assert_max_num_queries(1 + 1):
        assert len(lines("rankings", everything, chunk_size=500)) == 120


def test_export_to_path_writes_the_file_whole(task_factory, labeler, tmp_path):
    rank(task_factory(k=3), labeler, [[0], [1], [2]])
    result = export_to_path(fmt="pairs", path=tmp_path / "pairs.jsonl", filters=export_filters())
    assert result == {"format": "pairs", "path": str(tmp_path / "pairs.jsonl"), "pairs_mode": "per_labeler",
                      "rankings": 1, "lines": 3}
    assert len((tmp_path / "pairs.jsonl").read_text().splitlines()) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.jsonl"]


def test_a_failed_export_leaves_no_file_and_keeps_the_old_one(task_factory, labeler, tmp_path):
    for _ in range(3):
        rank(task_factory(k=2), labeler, [[0], [1]])
    target = tmp_path / "rankings.jsonl"
    target.write_text("the previous export\n")

    def stop(n):
        raise RuntimeError("disk went away")

    for fmt, path in (("rankings", target), ("hf", tmp_path / "dataset")):
        with pytest.raises(RuntimeError):
            export_to_path(fmt=fmt, path=path, filters=export_filters(), progress=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rankings.jsonl"]
    assert target.read_text() == "the previous export\n"


def test_hf_export_is_a_dataset_directory(task_factory, labeler, other_labeler, tmp_path):
    task = task_factory(k=3)
    rank(task, labeler, [[0], [1], [2]])
    rank(task, other_labeler, [[0], [2], [1]])
    result = export_to_path(fmt="hf", path=tmp_path / "ds", filters=export_filters(), pairs_mode="majority")
    assert (result["rankings"], result["lines"], result["pairs_mode"]) == (2, 2, "majority")  # b vs c splits
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["README.md", "rankings.jsonl", "train.jsonl"]
    card = (tmp_path / "ds" / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n- config_name: default\n") and "path: train.jsonl" in card


BAD_TARGETS = {
    "missing directory": ("pairs", "no/such/dir/pairs.jsonl", "no such directory"),
    "a directory for a file": ("rankings", "existing_dir", "is a directory"),
    "a non-empty dataset directory": ("hf", "full_dir", "not an empty directory"),
    "a file for a dataset": ("hf", "a_file", "not an empty directory"),
    "no pairs for a dataset": ("hf", "empty_ds", "No preference pairs"),
}


@pytest.mark.parametrize("case", BAD_TARGETS)
def test_bad_targets_are_refused_and_nothing_is_written(db, tmp_path, case):
    fmt, name, message = BAD_TARGETS[case]
    (tmp_path / "existing_dir").mkdir()
    (tmp_path / "full_dir").mkdir()
    (tmp_path / "full_dir" / "keep").write_text("x")
    (tmp_path / "a_file").write_text("x")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(ExportError, match=message):
        export_to_path(fmt=fmt, path=tmp_path / name, filters=export_filters())
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before

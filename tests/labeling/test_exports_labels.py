"""What labelers said besides the order (1-7 scores, flags, comment) in every export format, by the
completion indexes of the record (the task's completions in id order)."""
from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest

from labeling.services.exports import export_stream, export_to_path
from modeling.formats.rankings import read_rankings
from tests.labeling.export_data import export_filters, rank


def records(fmt, **kwargs):
    return [json.loads(line) for line in export_stream(fmt=fmt, filters=export_filters(), **kwargs)]


@pytest.fixture
def said(task_factory, labeler, other_labeler):
    """One task of three completions a, b, c that alice and bob ranked, scored and flagged differently."""
    task = task_factory(k=3, texts=["a", "b", "c"])
    rank(task, labeler, [[2], [0], [1]], scores={0: 5, 2: 7}, flags={1: ["hallucination", "harmful"]},
         comment="=b is unsafe")
    rank(task, other_labeler, [[0], [2], [1]], scores={0: 2, 1: 1, 2: 4}, flags={1: ["harmful"], 0: ["off_topic"]})
    return task


def test_a_rankings_record_carries_scores_flags_and_comment_by_index(said):
    alice, bob = records("rankings")
    assert (alice["labeler"], alice["ranking"]) == ("alice", [[2], [0], [1]])
    assert alice["scores"] == [5, None, 7]  # b was not scored
    assert alice["flags"] == [[], ["hallucination", "harmful"], []]
    assert alice["comment"] == "=b is unsafe" and bob["comment"] == ""
    assert bob["scores"] == [2, 1, 4] and bob["flags"] == [["off_topic"], ["harmful"], []]


def test_indexes_follow_the_completions_id_order_not_the_ranking(task_factory, labeler):
    task = task_factory(k=4, texts=["w", "x", "y", "z"])
    rank(task, labeler, [[3], [1], [0, 2]], scores={3: 6, 1: 2}, flags={3: ["harmful"]})
    (record,) = records("rankings")
    by_text = dict(zip(record["completions"], zip(record["scores"], record["flags"])))
    assert by_text == {"w": (None, []), "x": (2, []), "y": (None, []), "z": (6, ["harmful"])}


def test_per_labeler_pairs_carry_the_chosen_and_rejected_labels_and_the_comment(said):
    rows = {(p["labeler"], p["chosen"], p["rejected"]): p for p in records("pairs")}
    assert len(rows) == 6
    alice_ca = rows[("alice", "c", "a")]
    assert (alice_ca["chosen_score"], alice_ca["rejected_score"]) == (7, 5)
    assert (alice_ca["chosen_flags"], alice_ca["rejected_flags"]) == ([], [])
    alice_ab = rows[("alice", "a", "b")]
    assert (alice_ab["chosen_score"], alice_ab["rejected_score"]) == (5, None)
    assert alice_ab["rejected_flags"] == ["hallucination", "harmful"] and alice_ab["comment"] == "=b is unsafe"
    bob_ab = rows[("bob", "a", "b")]
    assert (bob_ab["chosen_score"], bob_ab["rejected_score"], bob_ab["chosen_flags"]) == (2, 1, ["off_topic"])
    assert bob_ab["comment"] == ""


def test_majority_pairs_carry_the_mean_score_and_every_flag_given(said):
    rows = {(p["chosen"], p["rejected"]): p for p in records("pairs", pairs_mode="majority")}
    assert set(rows) == {("a", "b"), ("c", "b")}  # a vs c: one vote each way
    a_b = rows[("a", "b")]
    assert (a_b["chosen_mean_score"], a_b["rejected_mean_score"]) == (3.5, 1.0)  # a: (5+2)/2; b: bob's 1 alone
    assert (a_b["chosen_flags"], a_b["rejected_flags"]) == (["off_topic"], ["hallucination", "harmful"])
    assert rows[("c", "b")]["chosen_mean_score"] == 5.5 and not {"comment", "labeler", "chosen_score"} & set(a_b)


def test_csv_has_comment_score_and_flags_columns_after_the_old_ones(said):
    header, alice, bob = list(csv.reader(io.StringIO("".join(export_stream(fmt="csv", filters=export_filters())))))
    assert header[16:] == ["comment"] + [f"score_{i}" for i in range(9)] + [f"flags_{i}" for i in range(9)]
    cells = dict(zip(header, alice))
    assert cells["comment"] == "'=b is unsafe"  # formulas neutralised here too
    assert [cells[f"score_{i}"] for i in range(4)] == ["5", "", "7", ""]
    assert [cells[f"flags_{i}"] for i in range(4)] == ["", "hallucination;harmful", "", ""]
    assert dict(zip(header, bob))["flags_0"] == "off_topic" and len(alice) == len(header)


def test_the_dataset_directory_carries_them_in_both_files(said, tmp_path):
    export_to_path(fmt="hf", path=tmp_path / "ds", filters=export_filters())
    pairs = [json.loads(line) for line in (tmp_path / "ds" / "train.jsonl").read_text().splitlines()]
    rankings = [json.loads(line) for line in (tmp_path / "ds" / "rankings.jsonl").read_text().splitlines()]
    assert [r["scores"] for r in rankings] == [[5, None, 7], [2, 1, 4]]
    assert {(p["labeler"], p["chosen"], p["rejected"], p["chosen_score"]) for p in pairs} >= {("alice", "c", "a", 7)}
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "`chosen_score`" in card and "`scores` (1-7 or null)" in card


def test_the_modeling_reader_takes_an_export_with_them(said, tmp_path):
    export_to_path(fmt="rankings", path=tmp_path / "r.jsonl", filters=export_filters())
    alice, bob = read_rankings(tmp_path / "r.jsonl")
    assert (alice.labeler, alice.tiers, bob.tiers) == ("alice", ((2,), (0,), (1,)), ((0,), (2,), (1,)))


def test_datasets_loads_the_scored_dataset(said, tmp_path):
    # Null and whole scores, empty and full flag lists in one column: datasets must type each column.
    from tests.labeling.test_examples import LOAD_BOTH, fresh_datasets_cache, python_with

    python = python_with("datasets")
    export_to_path(fmt="hf", path=tmp_path / "ds", filters=export_filters())
    export_to_path(fmt="pairs", path=tmp_path / "pairs.jsonl", filters=export_filters(), pairs_mode="majority")
    result = subprocess.run([*python, "-c", LOAD_BOTH, str(tmp_path / "ds"), str(tmp_path / "pairs.jsonl")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env=fresh_datasets_cache(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["first"]["chosen_mean_score"] == 3.5  # the majority file: a mean, beside the null of another row
    assert {"chosen_score", "rejected_flags", "comment"} <= set(loaded["columns"]) and loaded["rows"] == 6

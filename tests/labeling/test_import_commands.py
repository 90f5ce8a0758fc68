import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Completion, Prompt, RankingTask


def write_jsonl(tmp_path, rows, name="in.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return str(path)


GOOD_TASK = {"prompt": "List 2 fruits.", "completions": ["1. apple\n2. pear", "apple apple"], "gold_ranking": [[0], [1]]}


def test_import_tasks_creates_tasks_with_gold_as_completion_ids(db, tmp_path):
    path = write_jsonl(tmp_path, [GOOD_TASK, {"prompt": "What is 2 plus 2?", "completions": ["4", "5", "22"], "required_rankings": 2}])
    call_command("import_tasks", path)
    first, second = RankingTask.objects.order_by("id")
    ids = list(first.completions.values_list("pk", flat=True))
    assert first.gold_tiers == [[ids[0]], [ids[1]]]
    assert (first.required_rankings, second.required_rankings, second.completions.count()) == (3, 2, 3)


def test_imported_tasks_form_a_task_set_named_after_the_file(db, tmp_path):
    (tmp_path / "sub").mkdir()
    call_command("import_tasks", write_jsonl(tmp_path, [GOOD_TASK], name="sub/batch-7.jsonl"))
    call_command("import_tasks", write_jsonl(tmp_path, [{**GOOD_TASK, "prompt": "Name 2 fruits."}], name="other.jsonl"))
    assert list(RankingTask.objects.order_by("id").values_list("task_set", "source_run")) == [
        ("batch-7.jsonl", None), ("other.jsonl", None)]


def test_tasks_import_takes_a_task_set_or_none(db):
    from labeling.import_formats import parse_tasks
    from labeling.services.imports import tasks_import

    specs = parse_tasks([json.dumps(GOOD_TASK)])
    (named,) = tasks_import(specs=specs, source_detail="x.jsonl", task_set="a" * 300)
    (unnamed,) = tasks_import(specs=parse_tasks([json.dumps({**GOOD_TASK, "prompt": "Other?"})]))
    assert (len(named.task_set), unnamed.task_set) == (100, "")


BAD_TASK_LINES = {
    "bad json": "{not json",
    "not an object": "[1, 2]",
    "no prompt": {"completions": ["a", "b"]},
    "empty prompt": {"prompt": " ", "completions": ["a", "b"]},
    "one completion": {"prompt": "p", "completions": ["a"]},
    "ten completions": {"prompt": "p", "completions": [str(i) for i in range(10)]},
    "empty completion": {"prompt": "p", "completions": ["a", ""]},
    "equal completions": {"prompt": "p", "completions": ["a", "a"]},
    "gold misses an index": {"prompt": "p", "completions": ["a", "b", "c"], "gold_ranking": [[0], [1]]},
    "gold unknown index": {"prompt": "p", "completions": ["a", "b"], "gold_ranking": [[0], [2]]},
    "gold empty tier": {"prompt": "p", "completions": ["a", "b"], "gold_ranking": [[0, 1], []]},
    "bad required": {"prompt": "p", "completions": ["a", "b"], "required_rankings": 0},
    "metadata not object": {"prompt": "p", "completions": ["a", "b"], "metadata": [1]},
}


@pytest.mark.parametrize("case", BAD_TASK_LINES)
def test_a_bad_line_names_the_line_and_imports_nothing(db, tmp_path, case):
    path = write_jsonl(tmp_path, [GOOD_TASK, BAD_TASK_LINES[case]])
    with pytest.raises(CommandError, match=r"line 2: .*nothing was imported"):
        call_command("import_tasks", path)
    assert (Prompt.objects.count(), RankingTask.objects.count(), Completion.objects.count()) == (0, 0, 0)


def test_a_repeated_id_in_the_file_is_refused(db, tmp_path):
    path = write_jsonl(tmp_path, [{**GOOD_TASK, "id": "x"}, {**GOOD_TASK, "id": "x"}])
    with pytest.raises(CommandError, match="line 2"):
        call_command("import_tasks", path)
    assert RankingTask.objects.count() == 0


def test_an_id_already_imported_is_refused_unless_skipped(db, tmp_path):
    path = write_jsonl(tmp_path, [{**GOOD_TASK, "id": "x"}])
    call_command("import_tasks", path)
    with pytest.raises(CommandError, match="already"):
        call_command("import_tasks", path)
    call_command("import_tasks", path, "--skip-existing")
    assert RankingTask.objects.count() == 1


def test_a_missing_file_is_one_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_tasks", str(tmp_path / "nope.jsonl"))


def test_import_prompts(db, tmp_path):
    path = write_jsonl(tmp_path, [{"prompt": "a", "id": "p1", "metadata": {"type": "list"}}, {"prompt": "b"}])
    call_command("import_prompts", path)
    assert list(Prompt.objects.values_list("text", "external_id")) == [("a", "p1"), ("b", "")]


@pytest.mark.parametrize("row", ["{oops", {"id": "no prompt"}, {"prompt": 3}, {"prompt": "p", "id": 7}])
def test_import_prompts_refuses_bad_lines_whole(db, tmp_path, row):
    path = write_jsonl(tmp_path, [{"prompt": "fine"}, row])
    with pytest.raises(CommandError, match="line 2"):
        call_command("import_prompts", path)
    assert Prompt.objects.count() == 0


def test_an_empty_file_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="no prompts"):
        call_command("import_prompts", write_jsonl(tmp_path, [""]))

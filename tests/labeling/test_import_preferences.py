"""``import_preferences`` (TRL pairs -> K=2 tasks with rankings) and ``import_prompts`` from CSV."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from labeling.models import Completion, Project, Prompt, Ranking, RankingTask, default_project_id
from labeling.selectors.tasks import tasks_open_for
from labeling.services.exports import export_stream
from tests.factories import UserFactory
from tests.labeling.export_data import export_filters, rank

User = get_user_model()


def write(tmp_path, rows, name="pairs.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def counts():
    return (Prompt.objects.count(), RankingTask.objects.count(), Completion.objects.count(), Ranking.objects.count(),
            User.objects.count())


PAIR = {"prompt": "Name a fruit.", "chosen": "Apple.", "rejected": "A car."}


def test_pairs_become_two_way_tasks_ranked_by_an_inactive_external_labeler(db, tmp_path, labeler):
    path = write(tmp_path, [PAIR, {"prompt": "2+2?", "chosen": "4", "rejected": "5"}])
    call_command("import_preferences", path, "--labeler", "hh-rlhf")
    external = User.objects.get(username="hh-rlhf")
    assert not external.is_active and not external.has_usable_password()
    task = RankingTask.objects.get(prompt__text="Name a fruit.")
    apple, car = task.completions.order_by("pk")
    (ranking,) = task.rankings.all()
    assert (ranking.labeler, ranking.tiers, ranking.display_order) == (external, [[apple.pk], [car.pk]], [])
    assert (task.required_rankings, task.task_set, apple.source) == (1, "pairs.jsonl", "import")
    assert not tasks_open_for(labeler=labeler, now=ranking.created_at).exists()  # nothing left to label


def test_labelers_of_the_same_pair_share_one_task(db, tmp_path):
    path = write(tmp_path, [{**PAIR, "labeler": "ext-a"}, {**PAIR, "chosen": PAIR["rejected"],
                                                           "rejected": PAIR["chosen"], "labeler": "ext-b"},
                            {**PAIR, "prompt": "Other prompt"}])
    call_command("import_preferences", path, "--labeler", "ext-c", "--task-set", "hh")
    task = RankingTask.objects.get(prompt__text="Name a fruit.")
    apple, car = task.completions.order_by("pk")
    assert sorted((r.labeler.username, r.tiers[0][0]) for r in task.rankings.all()) == [
        ("ext-a", apple.pk), ("ext-b", car.pk)]
    assert (task.required_rankings, task.task_set, RankingTask.objects.count()) == (2, "hh", 2)


def test_exported_pairs_import_back_as_the_same_pairs(task_factory, labeler, other_labeler, tmp_path):
    task = task_factory(k=3, texts=["a", "b", "c"])
    rank(task, labeler, [[0], [1, 2]])
    rank(task, other_labeler, [[2], [1], [0]])
    exported = "".join(export_stream(fmt="pairs", filters=export_filters()))
    renamed = [{**json.loads(line), "labeler": "ext-" + json.loads(line)["labeler"]} for line in exported.splitlines()]
    call_command("import_preferences", write(tmp_path, renamed))
    again = [json.loads(line) for line in export_stream(fmt="pairs", filters=export_filters())]
    key = lambda p: (p["prompt"], p["chosen"], p["rejected"], p["labeler"])
    assert sorted(map(key, again)) == sorted(map(key, renamed + [json.loads(line) for line in exported.splitlines()]))


def test_exported_scores_flags_and_comments_come_back_with_the_pairs(task_factory, labeler, tmp_path):
    task = task_factory(k=3, texts=["a", "b", "c"])
    rank(task, labeler, [[0], [1], [2]], scores={0: 6, 2: 2}, flags={2: ["harmful"]}, comment="c is rude")
    exported = [json.loads(line) for line in export_stream(fmt="pairs", filters=export_filters())]
    call_command("import_preferences", write(tmp_path, [{**p, "labeler": "ext-alice"} for p in exported]))
    imported = {(r.task.completions.get(pk=r.tiers[0][0]).text, r.task.completions.get(pk=r.tiers[1][0]).text): r
                for r in Ranking.objects.filter(labeler__username="ext-alice")}

    def by_text(ranking, field):
        texts = {str(c.pk): c.text for c in ranking.task.completions.all()}
        return {texts[cid]: value for cid, value in getattr(ranking, field).items()}

    a_c = imported[("a", "c")]
    assert by_text(a_c, "scores") == {"a": 6, "c": 2} and by_text(a_c, "flags") == {"c": ["harmful"]}
    assert a_c.comment == "c is rude" and by_text(imported[("a", "b")], "scores") == {"a": 6}  # b was not scored
    again = [p for p in (json.loads(line) for line in export_stream(fmt="pairs", filters=export_filters()))
             if p["labeler"] == "ext-alice"]
    said = lambda p: (p["chosen"], p["rejected"], p["chosen_score"], p["rejected_score"], p["chosen_flags"],  # noqa: E731
                      p["rejected_flags"], p["comment"])
    assert sorted(map(said, again)) == sorted(map(said, exported))


def test_a_majority_export_imports_under_one_labeler(task_factory, labeler, other_labeler, tmp_path):
    task = task_factory(k=2, texts=["a", "b"])
    rank(task, labeler, [[0], [1]], scores={0: 5, 1: 2})
    rank(task, other_labeler, [[0], [1]], scores={0: 4})
    majority = [json.loads(line) for line in export_stream(fmt="pairs", filters=export_filters(), pairs_mode="majority")]
    assert majority[0]["chosen_mean_score"] == 4.5
    call_command("import_preferences", write(tmp_path, majority), "--labeler", "ext-majority")
    (ranking,) = Ranking.objects.filter(labeler__username="ext-majority")
    assert ranking.scores == {} and ranking.comment == ""  # a mean is no labeler's score


def test_scores_into_a_project_that_does_not_ask_for_them_are_refused(db, tmp_path):
    Project.objects.filter(pk=default_project_id()).update(ask_scores=False)
    path = write(tmp_path, [PAIR, {**PAIR, "prompt": "p2", "chosen_score": 5}])
    with pytest.raises(CommandError, match="line 2: project 'default' does not ask for scores"):
        call_command("import_preferences", path, "--labeler", "ext")
    assert counts() == (0, 0, 0, 0, 0)
    call_command("import_preferences", write(tmp_path, [PAIR, {**PAIR, "prompt": "p2", "chosen_score": None}]),
                 "--labeler", "ext")
    assert Ranking.objects.count() == 2


BAD_PAIR_FILES = {
    "not json": (["{oops"], "line 1: not valid JSON"),
    "not an object": (['["a", "b"]'], "line 1: each line must be a JSON object"),
    "no prompt": ([{"chosen": "a", "rejected": "b"}], 'line 1: "prompt" must be non-empty text'),
    "no rejected": ([PAIR, {"prompt": "p", "chosen": "a"}], 'line 2: "rejected" must be non-empty text'),
    "chosen not text": ([{**PAIR, "chosen": 3}], 'line 1: "chosen" must be non-empty text'),
    "chosen a user message": ([{**PAIR, "chosen": [{"role": "user", "content": "x"}]}],
                              'line 1: "chosen" must be text or a list of one message'),
    "same texts": ([{**PAIR, "rejected": PAIR["chosen"]}], "line 1: \"chosen\" and \"rejected\" are the same text"),
    "bad labeler name": ([{**PAIR, "labeler": "no spaces allowed"}], "line 1: \"labeler\" 'no spaces allowed' is not"),
    "labeler not text": ([{**PAIR, "labeler": 7}], 'line 1: "labeler" must be a user name'),
    "same labeler twice": ([PAIR, {**PAIR, "chosen": PAIR["rejected"], "rejected": PAIR["chosen"]}],
                           "line 2: 'ext' already judged this pair on line 1"),
    "too long": ([{**PAIR, "chosen": "x" * 20_001}], "longer than 20,000 characters"),
    "nul character": ([PAIR, {**PAIR, "prompt": "a\u0000b"}], 'line 2: "prompt" contains a NUL character'),
    "empty file": ([""], "holds no preference pairs"),
    "score above 7": ([{**PAIR, "chosen_score": 8}], 'line 1: "chosen_score" must be a whole number from 1 to 7'),
    "score as text": ([{**PAIR, "rejected_score": "5"}], 'line 1: "rejected_score" must be a whole number'),
    "score a boolean": ([{**PAIR, "chosen_score": True}], 'line 1: "chosen_score" must be a whole number'),
    "mean as a score": ([{**PAIR, "chosen_score": 3.5}], 'line 1: "chosen_score" must be a whole number'),
    "flags not a list": ([{**PAIR, "chosen_flags": "harmful"}], 'line 1: "chosen_flags" must be a list of flag names'),
    "comment not text": ([{**PAIR, "comment": 7}], 'line 1: "comment" must be non-empty text'),
    "unknown flag": ([PAIR, {**PAIR, "prompt": "p2", "rejected_flags": ["rude"]}], "line 2: Unknown flag 'rude'"),
}


@pytest.mark.parametrize("case", BAD_PAIR_FILES)
def test_a_bad_pairs_file_names_the_line_and_imports_nothing(db, tmp_path, case):
    rows, message = BAD_PAIR_FILES[case]
    before = counts()
    with pytest.raises(CommandError, match=".*".join(map(__import__("re").escape, [message, "nothing was imported"]))):
        call_command("import_preferences", write(tmp_path, rows), "--labeler", "ext")
    assert counts() == before


def test_lines_without_a_labeler_need_the_option(db, tmp_path):
    with pytest.raises(CommandError, match='line 1: no "labeler" on the line and no --labeler given'):
        call_command("import_preferences", write(tmp_path, [PAIR]))
    assert counts() == (0, 0, 0, 0, 0)


def test_an_active_account_is_refused(db, tmp_path, labeler):
    path = write(tmp_path, [PAIR, {**PAIR, "prompt": "p2", "labeler": "new-ext"}])
    before = counts()
    with pytest.raises(CommandError, match="alice is an active account"):
        call_command("import_preferences", path, "--labeler", "alice")
    assert counts() == before and not User.objects.filter(username="new-ext").exists()


def test_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_preferences", str(tmp_path / "nope.jsonl"), "--labeler", "x")


# --- prompts from CSV


def write_csv(tmp_path, text, name="prompts.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_prompts_from_csv(db, tmp_path):
    path = write_csv(tmp_path, '\ufeffprompt,id,task_set,metadata\n'
                               '"List 3 fruits,\nplease.",p1,fruits,"{""level"": 2}"\n'
                               'What is 2+2?,,,\n\n')
    call_command("import_prompts", path)
    first, second = Prompt.objects.order_by("pk")
    assert (first.text, first.external_id, first.metadata) == ("List 3 fruits,\nplease.", "p1",
                                                               {"level": 2, "task_set": "fruits"})
    assert (second.text, second.external_id, second.metadata) == ("What is 2+2?", "", {})


def test_csv_by_option_whatever_the_name(db, tmp_path):
    call_command("import_prompts", write_csv(tmp_path, "prompt\nHello?\n", name="p.txt"), "--format", "csv")
    assert list(Prompt.objects.values_list("text", flat=True)) == ["Hello?"]


BAD_CSV_FILES = {
    "no prompt column": ("text,id\nhello,1\n", 'line 1: the header has no "prompt" column'),
    "column twice": ("prompt,prompt\na,b\n", "line 1: column 'prompt' appears twice"),
    "unnamed column": ("prompt,\na,b\n", "line 1: column 2 of the header has no name"),
    "too many cells": ("prompt,id\nfine,1\na,2,3\n", "line 3: 3 cells, but the header names 2 columns"),
    "empty prompt": ("prompt,id\nfine,1\n ,2\n", 'line 3: "prompt" must be non-empty text'),
    "metadata not json": ("prompt,metadata\na,{oops\n", 'line 2: "metadata" is not valid JSON'),
    "metadata not object": ("prompt,metadata\na,[1]\n", 'line 2: "metadata" must be a JSON object'),
    "column clashes with metadata": ('prompt,metadata,kind\na,"{""kind"": 1}",x\n', "line 2: column 'kind'"),
    "repeated id": ("prompt,id\na,x\nb,y\n\nc,x\n", "line 5: \"id\" 'x' repeats line 2"),
    "row after a multi-line cell": ('prompt,id\n"two\nlines",1\n"",2\n', 'line 4: "prompt" must be non-empty text'),
    "nul byte": ("prompt\nfine\na\x00b\n", 'line 3: "prompt" contains a NUL character'),
    "unclosed quote": ('prompt\nfine\n"never closed\n', "not valid CSV (unexpected end of data)"),
    "text after a closing quote": ('prompt\nfine\n"a"b\n', "line 3: not valid CSV"),
    "header only": ("prompt,id\n", "holds no prompts"),
    "empty file": ("", "holds no prompts"),
}


@pytest.mark.parametrize("case", BAD_CSV_FILES)
def test_a_bad_csv_names_the_line_and_imports_nothing(db, tmp_path, case):
    text, message = BAD_CSV_FILES[case]
    with pytest.raises(CommandError, match=__import__("re").escape(message)):
        call_command("import_prompts", write_csv(tmp_path, text))
    assert Prompt.objects.count() == 0


def test_an_unknown_prompts_format_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="--format must be one of auto, jsonl, csv, not 'xls'"):
        call_command("import_prompts", write_csv(tmp_path, "prompt\na\n"), "--format", "xls")
    assert Prompt.objects.count() == 0


def test_existing_users_untouched_when_a_later_line_is_bad(db, tmp_path):
    UserFactory(username="ext", is_active=False)
    with pytest.raises(CommandError, match="line 2"):
        call_command("import_preferences", write(tmp_path, [PAIR, "{bad"]), "--labeler", "ext")
    assert counts() == (0, 0, 0, 0, 1)

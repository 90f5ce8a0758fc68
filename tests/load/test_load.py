"""20 simulated labelers over HTTP against gunicorn (2 workers) until 200 rankings are in, with
random retries and double submits, through the labeler page and through the JSON API: nothing lost,
no duplicate, no task over its required count, no 5xx. On a file SQLite database, and on Postgres
when ``TEST_POSTGRES_URL`` is set. ``benchmarks/bench_load.py`` runs the same harness at full size and prints the figures."""
import os

import pytest

from tests.load import harness
from tests.load.labelers import LoadConfig, load_run

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        with harness.sqlite_database(tmp_path) as url:
            yield url
        return
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        pytest.skip("set TEST_POSTGRES_URL (scripts/start_test_postgres.sh) to run the load test on Postgres")
    with harness.postgres_database(server) as url:
        yield url


@pytest.mark.parametrize("mode", ["page", "api"])
def test_concurrent_labelers_lose_nothing_and_overfill_nothing(database_url, tmp_path, mode):
    config = LoadConfig(labelers=20, rankings=200, workers=2, trivial_requests=200, retry_rate=0.15,
                        double_rate=0.15, max_seconds=120, mode=mode)
    figures = load_run(config, database_url=database_url, var_dir=tmp_path)
    summary = {k: figures[k] for k in ("acknowledged", "rankings_stored", "lost", "stored_unacknowledged",
                                       "duplicates", "tasks_over_required", "assignment_mismatches",
                                       "server_errors_5xx", "client_errors_4xx", "connection_errors", "statuses")}
    assert figures["acknowledged"] >= config.rankings, summary
    assert figures["rankings_stored"] == figures["acknowledged"], summary
    assert figures["lost"] == figures["stored_unacknowledged"] == 0, summary
    assert figures["duplicates"] == 0 and figures["tasks_over_required"] == 0, summary
    assert figures["assignment_mismatches"] == 0, summary
    assert figures["server_errors_5xx"] == figures["connection_errors"] == figures["client_errors_4xx"] == 0, (
        summary, figures["errors_sample"])
    # The retries and double submits really happened: more submit requests than rankings.
    assert figures["submit_ms"]["count"] > figures["rankings_stored"], summary

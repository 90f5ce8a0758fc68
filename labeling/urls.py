from django.urls import path

from labeling.views import health, label, model_download, rounds, runs, stats

urlpatterns = [
    path("", label.home, name="home"),
    path("label/", label.label_next, name="label"),
    path("label/assignments/<int:assignment_id>/ranking", label.label_submit, name="label-submit"),
    path("label/assignments/<int:assignment_id>/skip", label.label_skip, name="label-skip"),
    path("healthz", health.healthz, name="healthz"),
    path("stats/", stats.stats_dashboard, name="stats"),
    path("stats/labelers.csv", stats.stats_labelers_csv, name="stats-labelers-csv"),
    path("stats/tasks/<int:task_id>/", stats.stats_task, name="stats-task"),
    path("runs/", runs.runs_list, name="runs"),
    path("runs/bootstrap", runs.run_start_bootstrap, name="run-start-bootstrap"),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:run_id>/status.json", runs.run_status_json, name="run-status"),
    path("runs/<int:run_id>/cancel", runs.run_cancel_view, name="run-cancel"),
    path("runs/<int:run_id>/retry", runs.run_retry_view, name="run-retry"),
    path("models/", runs.model_versions, name="model-versions"),
    path("models/compare/", runs.model_versions_compare, name="model-versions-compare"),
    path("models/<int:version_id>/download.zip", model_download.model_version_download, name="model-version-download"),
    path("rounds/", rounds.rounds_page, name="rounds"),
    path("rounds/<int:round_id>/", rounds.round_detail, name="round-detail"),
]

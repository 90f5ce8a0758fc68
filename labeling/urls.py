from django.urls import path

from labeling.views import home, health, invites, label, members, model_download, projects, rounds, runs, stats

urlpatterns = [
    path("", home.home, name="home"),
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
    path("projects/", projects.projects_list, name="projects"),
    path("projects/new", projects.project_create_view, name="project-create"),
    path("projects/<slug:project>/settings/", projects.project_settings, name="project-settings"),
    path("projects/<slug:project>/members/", members.project_members_page, name="project-members"),
    path("projects/<slug:project>/members/remove", members.member_remove, name="project-member-remove"),
    path("projects/<slug:project>/invites/", members.invite_create_view, name="project-invite-create"),
    path("projects/<slug:project>/invites/<int:invite_id>/revoke", members.invite_revoke_view,
         name="project-invite-revoke"),
    path("invites/<str:token>/", invites.invite_accept_view, name="invite-accept"),
]

"""/api/v1/ routes. Ids in paths are integers of at most 18 digits (larger ones are a 404, not a crash)."""
from django.urls import Resolver404, path, re_path, register_converter, resolve
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound

from labeling.api.views import admin_data, admin_exports, admin_figures, admin_runs, demonstrations, docs, labeler, review


class ApiId:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(ApiId, "api_id")


def _with_slash(path: str) -> str | None:
    try:
        match = resolve(path + "/")
    except Resolver404:
        return None
    return path + "/" if match.url_name != "api-not-found" else None


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([])
def not_found(request, rest=""):
    """Any other path under /api/v1/: a 404 in the API's error shape, not Django's HTML page."""
    if not request.path.endswith("/") and (suggestion := _with_slash(request.path)):
        raise NotFound(f"There is no endpoint {request.path}; did you mean {suggestion} (with the slash)?")
    raise NotFound(f"There is no endpoint {request.path}; see /api/v1/docs/.")


urlpatterns = [
    path("tasks/next/", labeler.NextTaskView.as_view(), name="api-task-next"),
    path("tasks/<api_id:task_id>/ranking/", labeler.RankingSubmitView.as_view(), name="api-task-ranking"),
    path("tasks/<api_id:task_id>/skip/", labeler.SkipView.as_view(), name="api-task-skip"),
    path("demonstrations/next/", demonstrations.NextDemonstrationView.as_view(), name="api-demonstration-next"),
    path("demonstrations/assignments/<api_id:assignment_id>/", demonstrations.DemonstrationSubmitView.as_view(),
         name="api-demonstration-submit"),
    path("demonstrations/assignments/<api_id:assignment_id>/skip/", demonstrations.DemonstrationSkipView.as_view(),
         name="api-demonstration-skip"),
    path("tasks/", admin_data.TasksView.as_view(), name="api-tasks"),
    path("prompts/", admin_data.PromptsView.as_view(), name="api-prompts"),
    path("rankings/", admin_data.RankingsView.as_view(), name="api-rankings"),
    path("rankings/<api_id:pk>/review/", review.RankingReviewView.as_view(), name="api-ranking-review"),
    path("demonstrations/<api_id:pk>/review/", review.DemonstrationReviewView.as_view(), name="api-demonstration-review"),
    path("review/queue/", review.ReviewQueueView.as_view(), name="api-review-queue"),
    path("model-versions/", admin_runs.ModelVersionsView.as_view(), name="api-model-versions"),
    path("model-versions/<api_id:pk>/", admin_runs.ModelVersionDetailView.as_view(), name="api-model-version"),
    path("runs/", admin_runs.RunsView.as_view(), name="api-runs"),
    path("runs/<api_id:pk>/", admin_runs.RunDetailView.as_view(), name="api-run"),
    path("runs/<api_id:pk>/cancel/", admin_runs.RunCancelView.as_view(), name="api-run-cancel"),
    path("rounds/", admin_runs.RoundsView.as_view(), name="api-rounds"),
    path("rounds/<api_id:pk>/", admin_runs.RoundDetailView.as_view(), name="api-round"),
    path("rounds/<api_id:pk>/acknowledge/", admin_runs.RoundAcknowledgeView.as_view(), name="api-round-acknowledge"),
    path("stats/", admin_figures.AgreementView.as_view(), name="api-stats"),
    path("exports/<str:fmt>/", admin_exports.ExportView.as_view(), name="api-export"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs.api_docs, name="api-docs"),
    re_path(r"^(?P<rest>.*)$", not_found, name="api-not-found"),
]

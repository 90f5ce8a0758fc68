"""A project's prompts and tasks (list, filter, create in bulk) and rankings (list, filter): its reviewers
read, its managers create (``?project=SLUG``, default ``default``; labeling.api.permissions)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from labeling.api import filters
from labeling.api.bodies import PromptItem, TaskItem
from labeling.api.bulk import prompt_specs, task_specs
from labeling.api.idempotency import idempotent
from labeling.api.permissions import ProjectRolePermission
from labeling.api.serializers import BulkCreatedSerializer, PromptSerializer, RankingSerializer, TaskSerializer
from labeling.api.views.request_body import body_items
from labeling.models import TASK_SET_MAX_LENGTH, Prompt
from labeling.services.imports import prompts_import, tasks_import

DEFAULT_TASK_SET = "api"
TASK_SET = OpenApiParameter("task_set", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                            description=f"The batch the new tasks form (default {DEFAULT_TASK_SET!r}).")


def _created(rows) -> Response:
    return Response(BulkCreatedSerializer({"created": len(rows), "ids": [row.pk for row in rows]}).data, status=201)


class PromptsView(ListAPIView):
    permission_classes = [ProjectRolePermission]
    serializer_class = PromptSerializer

    def get_queryset(self):
        return Prompt.objects.filter(project=self.request.project).order_by("id")

    @extend_schema(summary="List prompts")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=PromptItem(many=True), responses={201: BulkCreatedSerializer},
                   summary="Create prompts in bulk (all or nothing)")
    @idempotent
    def post(self, request):
        """Items as in a prompts import file: ``[{"prompt": str | [message, ...], "id"?: str, "metadata"?: {}}, ...]``;
        a conversation prompt is a list of ``{"role", "content"}`` messages ending with a user turn."""
        specs = prompt_specs(body_items(request, "prompts"), project=request.project)
        return _created(prompts_import(specs=specs, project=request.project))


class TasksView(ListAPIView):
    permission_classes = [ProjectRolePermission]
    serializer_class = TaskSerializer

    def get_queryset(self):
        return filters.tasks_filtered(self.request.query_params, project=self.request.project)

    @extend_schema(parameters=filters.TASK_PARAMETERS, summary="List ranking tasks")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TaskItem(many=True), responses={201: BulkCreatedSerializer}, parameters=[TASK_SET],
                   summary="Create ranking tasks in bulk (all or nothing)")
    @idempotent
    def post(self, request):
        """Items as in a tasks import file: a prompt (a string or a list of messages), 2 to 9 ``completions``,
        optional ``gold_ranking``."""
        task_set = filters.text_param(request.query_params, "task_set", max_chars=TASK_SET_MAX_LENGTH)
        specs = task_specs(body_items(request, "tasks"), project=request.project)
        return _created(tasks_import(specs=specs, source_detail="api", task_set=task_set or DEFAULT_TASK_SET,
                                     project=request.project))


class RankingsView(ListAPIView):
    permission_classes = [ProjectRolePermission]
    serializer_class = RankingSerializer

    def get_queryset(self):
        return filters.rankings_filtered(self.request.query_params, project=self.request.project)

    @extend_schema(parameters=filters.RANKING_PARAMETERS, summary="List rankings")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

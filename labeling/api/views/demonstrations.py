"""A labeler's demonstration calls: lease the next demonstration task, submit it, or skip it.

Keyed by the lease (``assignment_id``), as the /write/ page is. The services are the page's
(:mod:`labeling.services.demonstrations`), so the statuses are the same: 404 no such lease, 403
another labeler's, 409 expired, skipped or already written with another ``submission_id``, 400 a
text outside the project's length limits. As for ranking tasks, a labeler paused in a project gets
403 with the reason from that project's next task, and without ``?project=`` it is passed over.
"""
from __future__ import annotations

from uuid import uuid4

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.demonstration_serializers import (DemonstrationBody, DemonstrationResultSerializer,
                                                    DemonstrationSkipBody, DemonstrationSkipResultSerializer,
                                                    NextDemonstrationSerializer)
from labeling.api.filters import query_param
from labeling.api.idempotency import idempotent
from labeling.api.views.labeler import _label_settings, project_to_work_in
from labeling.api.views.request_body import body_object
from labeling.models import DemonstrationAssignment
from labeling.services.demonstrations import demonstration_assign_next, demonstration_skip, demonstration_submit


def demonstration_lease(assignment: DemonstrationAssignment) -> dict:
    task, source = assignment.task, assignment.task.source_completion
    project = task.prompt.project
    return {
        "assignment_id": assignment.pk,
        "task_id": task.pk,
        "kind": "rewrite" if source is not None else "write",
        "project": _label_settings(project),
        "prompt": task.prompt.text,
        "messages": task.prompt.messages,
        "source_completion": {"id": source.pk, "text": source.text} if source is not None else None,
        "limits": {"min_chars": project.demonstration_min_chars, "max_chars": project.demonstration_max_chars},
        "expires_at": assignment.expires_at,
    }


class NextDemonstrationView(APIView):
    @extend_schema(responses=NextDemonstrationSerializer, summary="Lease the next demonstration task",
                   parameters=[query_param("project", OpenApiTypes.STR,
                                           "Only this project's tasks (its slug; 404 unless you label in it; 403 "
                                           "with the reason when you are paused in it).")])
    def get(self, request):
        """Lease the next demonstration task (or return the caller's live lease); ``{"assignment": null}``
        when nothing is left."""
        assignment = demonstration_assign_next(labeler=request.user, project=project_to_work_in(request))
        payload = {"assignment": demonstration_lease(assignment) if assignment else None}
        return Response(NextDemonstrationSerializer(payload).data)


class DemonstrationSubmitView(APIView):
    @extend_schema(request=DemonstrationBody, summary="Submit the demonstration of a leased task",
                   responses={201: DemonstrationResultSerializer, 200: DemonstrationResultSerializer})
    @idempotent
    def post(self, request, assignment_id: int):
        """201 with the new demonstration; 200 when ``submission_id`` repeats an earlier submission."""
        body = body_object(request)
        demonstration, created = demonstration_submit(
            labeler=request.user, assignment_id=assignment_id, text=body.get("text"), seconds=body.get("seconds"),
            submission_id=body["submission_id"] if "submission_id" in body else f"api-{uuid4().hex}")
        payload = {"demonstration_id": demonstration.pk, "assignment_id": assignment_id, "created": created}
        return Response(DemonstrationResultSerializer(payload).data, status=201 if created else 200)


class DemonstrationSkipView(APIView):
    @extend_schema(request=DemonstrationSkipBody, responses={201: DemonstrationSkipResultSerializer},
                   summary="Skip a leased demonstration task")
    @idempotent
    def post(self, request, assignment_id: int):
        """201; skipping the same lease again answers the same."""
        body = body_object(request)
        assignment = demonstration_skip(labeler=request.user, assignment_id=assignment_id,
                                        reason=body.get("reason", ""))
        return Response(DemonstrationSkipResultSerializer(
            {"assignment_id": assignment.pk, "status": assignment.status}).data, status=201)

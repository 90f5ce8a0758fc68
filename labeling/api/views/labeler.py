"""A labeler's three calls: lease the next task, rank it, or skip it.

The leased task comes with its project's label settings (flags, skip reasons, scores, instructions),
as the labeler page shows them, since a ranking or a skip is checked against them.

The page is keyed by assignment; the API by task id, and finds the caller's own lease of that task.
The ranking and the skip go through the page's services, so they are validated the same way
(``labeling.submission``) and refused with the same statuses: 404 no such task, 409 no live lease of
yours (expired, skipped, never leased) or already ranked. A labeler paused in a project (gold
accuracy under its threshold) asking for that project's next task gets 403 with the reason; without
``?project=`` their paused projects are passed over.
"""
from __future__ import annotations

from uuid import uuid4

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.bodies import RankingBody, SkipBody
from labeling.api.filters import query_param
from labeling.api.idempotency import idempotent
from labeling.api.serializers import NextTaskSerializer, RankingResultSerializer, SkipResultSerializer
from labeling.api.views.request_body import body_object
from labeling.errors import RejectedInput
from labeling.label_choices import label_choices
from labeling.models import Assignment, Membership, Project, RankingTask
from labeling.rendering import render_markdown
from labeling.selectors.pauses import labeler_paused
from labeling.selectors.projects import project_access_by_slug
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit, task_skip


def _label_settings(project: Project) -> dict:
    """What the labeler page shows of ``project`` (``labeling/views/label.py``), for an API client."""
    return {
        "slug": project.slug,
        "name": project.name,
        "flags": [{"key": key, "label": label} for key, label in label_choices(project.flags)],
        "skip_reasons": [{"key": key, "label": label} for key, label in label_choices(project.skip_reasons)],
        "ask_scores": project.ask_scores,
        "score_label_low": project.score_label_low or "",
        "score_label_high": project.score_label_high or "",
        "instructions": project.instructions or "",
        "instructions_html": str(render_markdown(project.instructions)),
    }


def _leased_task(assignment: Assignment) -> dict:
    texts = dict(assignment.task.completions.values_list("pk", "text"))
    return {
        "id": assignment.task_id,
        "assignment_id": assignment.pk,
        "project": _label_settings(assignment.task.prompt.project),
        "prompt": assignment.task.prompt.text,
        "messages": assignment.task.prompt.messages,
        "completions": [{"id": cid, "text": texts[cid]} for cid in assignment.display_order],
        "lease_expires_at": assignment.expires_at,
    }


def _own_assignment_id(*, labeler, task_id: int) -> int:
    assignment_id = (Assignment.objects.filter(task_id=task_id, labeler=labeler)
                     .values_list("pk", flat=True).first())
    if assignment_id is not None:
        return assignment_id
    # A task of a project the caller does not label in is "no such task" too: ids leak nothing.
    from labeling.selectors.tasks import projects_labeled_by

    if not RankingTask.objects.filter(pk=task_id, prompt__project__in=projects_labeled_by(labeler)).exists():
        raise RejectedInput("No such task.", field="task", status=404)
    raise RejectedInput(f"You hold no lease on task {task_id}: get one from GET /api/v1/tasks/next/ first.",
                        field="task", status=409)



def project_to_work_in(request) -> Project | None:
    """The project a labeler's ``?project=SLUG`` asks for work in (None without one): RejectedInput 404
    unless they label there, 403 with the pause's reason when they are paused there. Ranking and
    demonstration tasks ask the same way."""
    slug = request.query_params.get("project")
    if not slug:
        return None
    project = project_access_by_slug(user=request.user, slug=slug, needed=Membership.Role.LABELER)[0]
    if (pause := labeler_paused(request.user, project)) is not None:
        raise RejectedInput(pause.reason, field="project", status=403)
    return project

class NextTaskView(APIView):
    @extend_schema(responses=NextTaskSerializer, summary="Lease the next task to rank", parameters=[query_param(
        "project", OpenApiTypes.STR, "Only this project's tasks (its slug; 404 unless you label in it). Without it: the next "
        "task of any project you label in. 403 with the reason when you are paused in that project.")])
    def get(self, request):
        """Lease the next task (or return the caller's current lease in that project). Always 200 for a
        project the caller labels in: ``{"task": null}`` when nothing is left for this labeler, so a
        client never has to tell 204 from an error."""
        assignment = task_assign_next(labeler=request.user, project=project_to_work_in(request))
        # NextTaskSerializer's shape, sent as built: every value already is what its field renders
        # (tests/labeling/api/test_labeler_endpoints.py checks the two agree); building the serializer's
        # nested fields for each response cost ~1.7 ms, a fifth of the request.
        return Response({"task": _leased_task(assignment) if assignment else None})


class RankingSubmitView(APIView):
    @extend_schema(request=RankingBody, responses={201: RankingResultSerializer, 200: RankingResultSerializer},
                   summary="Submit the ranking of a leased task")
    @idempotent
    def post(self, request, task_id: int):
        """201 with the new ranking; 200 when ``submission_id`` repeats an earlier submission of it."""
        body = body_object(request)
        result = ranking_submit(
            labeler=request.user,
            assignment_id=_own_assignment_id(labeler=request.user, task_id=task_id),
            tiers=body.get("tiers"),
            scores=body.get("scores"),
            flags=body.get("flags"),
            comment=body.get("comment"),
            seconds=body.get("seconds"),
            submission_id=body["submission_id"] if "submission_id" in body else f"api-{uuid4().hex}",
        )
        payload = {"ranking_id": result.ranking.pk, "task_id": task_id, "created": result.created}
        return Response(RankingResultSerializer(payload).data, status=201 if result.created else 200)


class SkipView(APIView):
    @extend_schema(request=SkipBody, responses={201: SkipResultSerializer}, summary="Skip a leased task")
    @idempotent
    def post(self, request, task_id: int):
        """201; skipping the same task again returns the same skip."""
        body = body_object(request)
        skip = task_skip(labeler=request.user, assignment_id=_own_assignment_id(labeler=request.user, task_id=task_id),
                         reason=body.get("reason"), note=body.get("note"))
        return Response(SkipResultSerializer({"skip_id": skip.pk, "task_id": task_id}).data, status=201)

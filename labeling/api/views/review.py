"""A project's review through the API, for its reviewers (``?project=SLUG``, default ``default``):
the queue, and a decision on one ranking or one demonstration of the project.

The decision goes through the service the review pages use (``labeling.services.review``), so the
API refuses what the page refuses: a reject without a reason, corrected tiers that are not every
completion of the task exactly once, a text outside the project's length limits. An item of another
project is a 404, as one that does not exist. ``corrected_tiers`` are completion ids, as in a submit.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.filters import query_param
from labeling.api.idempotency import idempotent
from labeling.api.permissions import READ_ROLE, ProjectRolePermission
from labeling.api.review_serializers import ReviewBody, ReviewDecisionSerializer, ReviewQueueItemSerializer
from labeling.api.views.request_body import body_object
from labeling.errors import RejectedInput
from labeling.selectors.review import review_queue
from labeling.services.review import review_decide
from labeling.services.stats import stats_catch_up

KINDS = ("ranking", "demonstration")
KIND = query_param("kind", OpenApiTypes.STR, "Only items of this kind (default: both).", enum=KINDS)


class ReviewQueueView(APIView):
    permission_classes = [ProjectRolePermission]

    @extend_schema(parameters=[KIND], responses={200: ReviewQueueItemSerializer(many=True)},
                   summary="The project's review queue")
    def get(self, request):
        """Unreviewed work, first to review first: rankings of the lowest-agreement tasks, gold misses,
        flagged rankings, each labeler's last rankings, new demonstrations; each with its reasons."""
        kind = request.query_params.get("kind") or None
        if kind not in (None, *KINDS):
            raise RejectedInput(f"kind must be {' or '.join(KINDS)}, not {kind!r}.", field="kind")
        stats_catch_up(project=request.project)
        items = [item for item in review_queue(project=request.project) if kind in (None, item["kind"])]
        return Response(ReviewQueueItemSerializer(items, many=True).data)


class _Decide(APIView):
    permission_classes = [ProjectRolePermission]
    project_role = READ_ROLE  # a decision is the reviewer's own work

    def decide(self, request, **item) -> Response:
        body = body_object(request)
        decision = review_decide(reviewer=request.user, project=request.project, action=body.get("action"),
                                 reason=body.get("reason", ""), corrected_tiers=body.get("corrected_tiers"),
                                 corrected_text=body.get("corrected_text"), **item)
        return Response(ReviewDecisionSerializer(decision).data, status=201)


class RankingReviewView(_Decide):
    @extend_schema(request=ReviewBody, responses={201: ReviewDecisionSerializer},
                   summary="Accept, reject or correct a ranking")
    @idempotent
    def post(self, request, pk: int):
        """201 with the recorded decision; the ranking's review status is its latest decision's."""
        return self.decide(request, ranking_id=pk)


class DemonstrationReviewView(_Decide):
    @extend_schema(request=ReviewBody, responses={201: ReviewDecisionSerializer},
                   summary="Accept, reject or correct a demonstration")
    @idempotent
    def post(self, request, pk: int):
        """201 with the recorded decision; the demonstration's review status is its latest decision's."""
        return self.decide(request, demonstration_id=pk)

"""A project's model versions, background runs (cancel one) and training rounds (start one): its
reviewers read, its managers cancel and start (``?project=SLUG``, default ``default``). An id of
another project's row answers 404, as an unknown one does."""
from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.bodies import RoundBody
from labeling.api.idempotency import idempotent
from labeling.api.permissions import ProjectRolePermission
from labeling.api.serializers import ModelVersionSerializer, RoundSerializer, RunDetailSerializer, RunSerializer
from labeling.api.views.request_body import body_object
from labeling.errors import RejectedInput
from labeling.forms import RoundStartForm
from labeling.models import ModelVersion, Run, TrainingRound
from labeling.selectors.runs import prompts_with_fewest_tasks
from labeling.services.guard import round_guard_acknowledge
from labeling.services.rounds import round_settings, round_start
from labeling.services.runs import run_cancel

_ROUNDS = TrainingRound.objects.prefetch_related(Prefetch("runs", queryset=Run.objects.only("pk", "training_round")))


class _InProject:
    """Rows of the project the request names."""

    def get_queryset(self):
        return super().get_queryset().filter(project=self.request.project)


class _Detail(_InProject, RetrieveAPIView):
    permission_classes = [ProjectRolePermission]
    noun = "row"

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            raise RejectedInput(f"No such {self.noun}.", field="id", status=404) from None


@extend_schema_view(get=extend_schema(summary="List model versions"))
class ModelVersionsView(_InProject, ListAPIView):
    permission_classes = [ProjectRolePermission]
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.order_by("-created_at", "-id")


@extend_schema_view(get=extend_schema(summary="One model version, with its checkpoint path"))
class ModelVersionDetailView(_Detail):
    noun = "model version"
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()


@extend_schema_view(get=extend_schema(summary="List runs, newest first, with progress and latest metrics"))
class RunsView(_InProject, ListAPIView):
    permission_classes = [ProjectRolePermission]
    serializer_class = RunSerializer
    queryset = Run.objects.order_by("-created_at", "-id")


@extend_schema_view(get=extend_schema(summary="One run with its metrics history and log tail"))
class RunDetailView(_Detail):
    noun = "run"
    serializer_class = RunDetailSerializer
    queryset = Run.objects.all()


class RunCancelView(APIView):
    permission_classes = [ProjectRolePermission]

    @extend_schema(request=None, responses={200: RunDetailSerializer}, summary="Cancel a run")
    @idempotent
    def post(self, request, pk: int):
        """A queued run is cancelled at once; a running one stops at its next progress report
        (``cancel_requested``). 409 when the run has already finished."""
        if not Run.objects.filter(pk=pk, project=request.project).exists():
            raise RejectedInput("No such run.", field="run", status=404)
        return Response(RunDetailSerializer(run_cancel(run_id=pk)).data)


def _round_form(body: dict, project) -> RoundStartForm:
    """The /rounds/ page's form, with the fields the body leaves out at the page's starting values
    (the project's round settings)."""
    fields = RoundStartForm.base_fields
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise RejectedInput(f"Unknown field {unknown[0]!r}; the fields are {', '.join(fields)}.", field=unknown[0])
    initial = {**{name: field.initial for name, field in fields.items()},
               **RoundStartForm.initial_from(round_settings(project=project))}
    form = RoundStartForm(data={**initial, **body})
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise RejectedInput(messages[0], field=None if field == "__all__" else field)
    return form


@extend_schema_view(get=extend_schema(summary="List training rounds, newest first"))
class RoundsView(_InProject, ListAPIView):
    permission_classes = [ProjectRolePermission]
    serializer_class = RoundSerializer
    queryset = _ROUNDS.order_by("-created_at", "-id")

    @extend_schema(request=RoundBody, responses={201: RoundSerializer}, summary="Start a training round")
    @idempotent
    def post(self, request):
        """As the /rounds/ page: 409 when a round is running, there is no policy, or too few new rankings."""
        form = _round_form(body_object(request), request.project)
        training_round = round_start(
            algo=form.cleaned_data["algo"], created_by=request.user, config=form.round_config(),
            prompt_ids=prompts_with_fewest_tasks(count=form.cleaned_data["sample_prompts"], project=request.project),
            project=request.project,
        )
        return Response(RoundSerializer(_ROUNDS.get(pk=training_round.pk)).data, status=201)


@extend_schema_view(get=extend_schema(summary="One training round"))
class RoundDetailView(_Detail):
    noun = "training round"
    serializer_class = RoundSerializer
    queryset = _ROUNDS


class RoundAcknowledgeView(APIView):
    permission_classes = [ProjectRolePermission]

    @extend_schema(request=None, responses={200: RoundSerializer}, summary="Acknowledge a round's canary warning")
    @idempotent
    def post(self, request, pk: int):
        """A manager has looked at the round's reward-hacking warning (``guard.warning``): records who and when
        (``guard.acknowledged_by``/``_at``) and lifts the hold on auto-started rounds. 409 without a warning."""
        training_round = TrainingRound.objects.filter(pk=pk, project=request.project).first()
        if training_round is None:
            raise RejectedInput("No such training round.", field="round", status=404)
        round_guard_acknowledge(training_round=training_round, user=request.user)
        return Response(RoundSerializer(_ROUNDS.get(pk=pk)).data)

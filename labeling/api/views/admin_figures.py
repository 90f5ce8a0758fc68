"""Staff: the agreement figures of the /stats/ page (same filter, same selectors, same numbers)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.agreement_serializers import AgreementSerializer
from labeling.api.permissions import IsStaff
from labeling.errors import RejectedInput
from labeling.selectors import stats as selectors
from labeling.views.stats import StatsFilterForm
from labeling.views.stats import _catch_up as stats_catch_up


def _query(name, kind, description):
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=False, description=description)


STATS_PARAMETERS = [
    _query("since", OpenApiTypes.DATE, "Rankings submitted on or after this UTC date."),
    _query("until", OpenApiTypes.DATE, "Rankings submitted on or before this UTC date."),
    _query("round", OpenApiTypes.INT, "A training round id: tasks its sample step made."),
    _query("task_set", OpenApiTypes.STR, "One task set."),
]


def _stats_filter(params) -> selectors.StatsFilter:
    form = StatsFilterForm({key: params.get(key) for key in ("since", "until", "round", "task_set") if key in params})
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise RejectedInput(messages[0], field=None if field == "__all__" else field)
    return form.stats_filter()


class AgreementView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(parameters=STATS_PARAMETERS, responses=AgreementSerializer, summary="Agreement figures")
    def get(self, request):
        """The /stats/ page's figures: totals, one row per labeler, by round, by week, per day, and the
        tasks labelers agreed on least. Rankings not yet counted are counted first, as on the page."""
        f = _stats_filter(request.query_params)
        pending = stats_catch_up()
        task_days = selectors.stats_task_days(f)
        rows = selectors.stats_labeler_rows(f)
        payload = {
            "pending_tasks": pending,
            "totals": selectors.stats_totals(f, task_days=task_days),
            "labelers": [{**row, "flags": sorted(row["flags"])} for row in rows],
            "rounds": [{**row, "round": row["round"].pk if row["round"] else None}
                       for row in selectors.stats_agreement_by_round(f, task_days=task_days)],
            "weeks": [{"week": monday, "agreement": share, "pairs_compared": n}
                      for monday, share, n in selectors.stats_agreement_by_week(f)],
            "throughput": [{"day": day, "rankings": n} for day, n in selectors.stats_throughput(f)],
            "lowest_tasks": selectors.stats_lowest_tasks(f),
        }
        return Response(AgreementSerializer(payload).data)

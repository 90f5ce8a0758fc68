"""The figures of one project's /stats/ page (same filter, same selector, same numbers):
its reviewers and managers (``?project=SLUG``, default ``default``)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.agreement_serializers import AgreementSerializer
from labeling.api.filters import ROUND, SINCE, TASK_SET, UNTIL
from labeling.api.permissions import ProjectRolePermission
from labeling.selectors.rankings import filter_inputs, ranking_filter_parse
from labeling.selectors.stats import stats_figures
from labeling.selectors.version_labels import stats_labels_by_version
from labeling.services.stats import stats_catch_up

STATS_PARAMETERS = [SINCE, UNTIL, ROUND, TASK_SET]


class AgreementView(APIView):
    permission_classes = [ProjectRolePermission]

    @extend_schema(parameters=STATS_PARAMETERS, responses=AgreementSerializer, summary="Agreement figures")
    def get(self, request):
        """The /stats/ page's figures: totals, one row per labeler, by round, by week, per day, the
        tasks labelers agreed on least, and flag rates and mean scores by model version. Rankings not
        yet counted are counted first, as on the page."""
        f = ranking_filter_parse(project=request.project,
                                 **filter_inputs(request.query_params, ("since", "until", "round", "task_set")))
        pending = stats_catch_up(project=request.project)
        figures, by_version = stats_figures(f), stats_labels_by_version(f)
        payload = {
            "pending_tasks": pending,
            "totals": figures["totals"],
            "labelers": [{**row, "flags": sorted(row["flags"])} for row in figures["labelers"]],
            "rounds": [{**row, "round": row["round"].pk if row["round"] else None} for row in figures["rounds"]],
            "weeks": [{"week": monday, "agreement": share, "pairs_compared": n}
                      for monday, share, n in figures["weeks"]],
            "throughput": [{"day": day, "rankings": n} for day, n in figures["throughput"]],
            "lowest_tasks": figures["lowest_tasks"],
            "by_version": {"flags": [{"key": key, "label": label} for key, label in by_version["flags"]],
                           "versions": by_version["versions"]},
        }
        return Response(AgreementSerializer(payload).data)

"""GET /api/v1/exports/{fmt}/ streams an export of one project (rankings or pairs JSONL, or CSV) as it
is read; its managers only (``?project=SLUG``, default ``default``).

The filters are query parameters, parsed and checked by ``labeling.selectors.rankings`` before the
first line, so a bad one is a 400 in the usual error shape; then the lines stream from the database
a chunk of rankings at a time (``StreamingHttpResponse``), never the whole export in memory.
"""
from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from labeling.api.filters import LABELER, ROUND, SINCE, TASK_SET, UNTIL, query_param
from labeling.api.permissions import WRITE_ROLE, ProjectRolePermission
from labeling.export_formats import DEFAULT_PAIRS_MODE, PAIRS_MODES
from labeling.selectors.rankings import filter_inputs, ranking_filter_parse
from labeling.services.exports import STREAM_FORMATS, export_options_check, export_stream

CONTENT_TYPES = {"rankings": "application/x-ndjson", "pairs": "application/x-ndjson", "csv": "text/csv"}
SUFFIXES = {"rankings": "jsonl", "pairs": "jsonl", "csv": "csv"}
FILTERS = ("round", "task_set", "labeler", "min_agreement", "since", "until", "include_rejected")

EXPORT_PARAMETERS = [
    OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=STREAM_FORMATS,
                     description="rankings: K-way JSONL; pairs: TRL prompt/chosen/rejected JSONL; or csv."),
    ROUND, TASK_SET, LABELER,
    query_param("min_agreement", OpenApiTypes.NUMBER, "Only tasks whose pairwise agreement is at least this (0 to 1)."),
    query_param("include_gold", OpenApiTypes.BOOL, "Keep gold (quality-check) tasks; left out by default."),
    query_param("include_rejected", OpenApiTypes.BOOL, "Keep rankings a reviewer rejected; left out by default."),
    SINCE, UNTIL,
    query_param("pairs", OpenApiTypes.STR, f"Pairs mode (default {DEFAULT_PAIRS_MODE}).", enum=PAIRS_MODES),
]


class ExportView(APIView):
    permission_classes = [ProjectRolePermission]
    project_role = WRITE_ROLE  # an export is the project's whole data set: managers only

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # the stream is not rendered

    @extend_schema(parameters=EXPORT_PARAMETERS, summary="Stream an export of the rankings",
                   responses={(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, fmt: str):
        params = request.query_params
        pairs_mode = params.get("pairs") or DEFAULT_PAIRS_MODE
        export_options_check(fmt=fmt, pairs_mode=pairs_mode, to_path=False)
        filters = ranking_filter_parse(project=request.project, include_gold=params.get("include_gold", "false"),
                                       **filter_inputs(params, FILTERS))
        lines = export_stream(fmt=fmt, filters=filters, pairs_mode=pairs_mode)
        response = StreamingHttpResponse(lines, content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{fmt}.{SUFFIXES[fmt]}"'
        return response

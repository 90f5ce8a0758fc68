"""Staff: GET /api/v1/exports/{fmt}/ streams an export (rankings or pairs JSONL, or CSV) as it is read.

The filters are query parameters, parsed and checked by ``labeling.services.exports`` before the
first line, so a bad one is a 400 in the usual error shape; then the lines stream from the database
a chunk of rankings at a time (``StreamingHttpResponse``), never the whole export in memory.
"""
from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from labeling.api.filters import int_param, text_param
from labeling.api.permissions import IsStaff
from labeling.errors import RejectedInput
from labeling.export_formats import DEFAULT_PAIRS_MODE, PAIRS_MODES
from labeling.services.exports import STREAM_FORMATS, export_filters_parse, export_stream

CONTENT_TYPES = {"rankings": "application/x-ndjson", "pairs": "application/x-ndjson", "csv": "text/csv"}
SUFFIXES = {"rankings": "jsonl", "pairs": "jsonl", "csv": "csv"}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False, "": False}


def _query(name, kind, description, **extra):
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=False, description=description, **extra)


EXPORT_PARAMETERS = [
    OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=STREAM_FORMATS,
                     description="rankings: K-way JSONL; pairs: TRL prompt/chosen/rejected JSONL; or csv."),
    _query("round", OpenApiTypes.INT, "Only tasks this training round's sample step made."),
    _query("labeler", OpenApiTypes.STR, "Only this labeler's rankings (username)."),
    _query("min_agreement", OpenApiTypes.NUMBER, "Only tasks whose pairwise agreement is at least this (0 to 1)."),
    _query("include_gold", OpenApiTypes.BOOL, "Keep gold (quality-check) tasks; left out by default."),
    _query("since", OpenApiTypes.DATE, "Submitted on or after this UTC date."),
    _query("until", OpenApiTypes.DATE, "Submitted on or before this UTC date."),
    _query("pairs", OpenApiTypes.STR, f"Pairs mode (default {DEFAULT_PAIRS_MODE}).", enum=PAIRS_MODES),
]


class ExportView(APIView):
    permission_classes = [IsStaff]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # the stream is not rendered

    @extend_schema(parameters=EXPORT_PARAMETERS, summary="Stream an export of the rankings",
                   responses={(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, fmt: str):
        params = request.query_params
        include_gold = params.get("include_gold", "").lower()
        if include_gold not in _BOOLEANS:
            raise RejectedInput(f"include_gold must be true or false, not {include_gold!r}.", field="include_gold")
        int_param(params, "round")  # an id and a name the database can hold, before the service looks them up
        text_param(params, "labeler")
        filters = export_filters_parse(round=params.get("round"), labeler=params.get("labeler"),
                                       min_agreement=params.get("min_agreement"), include_gold=_BOOLEANS[include_gold],
                                       since=params.get("since"), until=params.get("until"))
        lines = export_stream(fmt=fmt, filters=filters, pairs_mode=params.get("pairs") or DEFAULT_PAIRS_MODE)
        response = StreamingHttpResponse(lines, content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{fmt}.{SUFFIXES[fmt]}"'
        return response

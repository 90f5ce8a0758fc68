"""Every API error as ``{"error": {"message": str, "field": str | null}}``, whatever raised it.

``RejectedInput`` from a service keeps its status and field; DRF's own errors (401, 403, 404, 405,
415, a body that is not JSON, a serializer's validation) and Django's ``ValidationError`` from a
model's ``full_clean`` are reshaped. A nested field is named by a dotted path: ``2.prompt``.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from labeling.errors import RejectedInput

_FIELDS = {exceptions.ParseError: "body", exceptions.UnsupportedMediaType: "Content-Type"}


def error_body(message: str, field: str | None = None) -> dict:
    return {"error": {"message": message, "field": field}}


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def first_error(detail, path: str = "") -> tuple[str | None, str]:
    """(field path, message) of the first error in a DRF ValidationError's ``detail``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            return first_error(value, path if key == api_settings.NON_FIELD_ERRORS_KEY else _join(path, key))
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                if value:  # a list serializer's item: its index is part of the path
                    return first_error(value, _join(path, index))
            else:
                return path or None, str(value)
    return path or None, str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, RejectedInput):
        return Response(error_body(exc.message, exc.field), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    response = exception_handler(exc, context)  # also Http404 and PermissionDenied; sets WWW-Authenticate
    if response is None:
        return None  # not an expected error: a 500, logged by Django
    if isinstance(exc, exceptions.ValidationError):
        field, message = first_error(exc.detail)
    else:
        detail = response.data.get("detail", exc) if isinstance(response.data, dict) else exc
        field, message = _FIELDS.get(type(exc)), str(detail)
    response.data = error_body(message, field)
    return response

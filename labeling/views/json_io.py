"""JSON in and out for the page's fetch calls: parse a body, answer errors as ``{error, field}``."""
from __future__ import annotations

import json
from functools import wraps

from django.http import JsonResponse

from labeling.errors import RejectedInput

MAX_BODY_BYTES = 256 * 1024


def json_body(request) -> dict:
    if len(request.body) > MAX_BODY_BYTES:
        raise RejectedInput("The request is too large.", field="body", status=413)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # bad JSON or UTF-8, a 5,000-digit number, nesting 100,000 deep
        raise RejectedInput("The request body is not valid JSON.", field="body") from None
    if not isinstance(body, dict):
        raise RejectedInput("The request body must be a JSON object.", field="body")
    return body


def json_endpoint(view):
    """Login required (401 as JSON, not a redirect); RejectedInput becomes its 4xx as JSON."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Log in first.", "field": None}, status=401)
        try:
            return view(request, *args, **kwargs)
        except RejectedInput as exc:
            return JsonResponse(exc.as_dict(), status=exc.status)

    return wrapper

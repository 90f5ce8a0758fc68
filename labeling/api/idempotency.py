"""``Idempotency-Key`` on POST: a retried request gets the first response instead of a second write.

A client that sends a POST with an ``Idempotency-Key: <any 1-255 characters>`` header and gets no
answer (a timeout, a dropped connection) sends it again with the same key. The first request that
succeeded (2xx) stored its status and body under (user, key, method and path); a retry with the
same body gets that response back, marked ``Idempotent-Replayed: true``, and the service does not
run again. The same key with a different body (or query) is refused with 422. A refused request
(4xx) stores nothing, since it wrote nothing: retrying it asks the service again.

Race-safety: the key row is inserted first, inside the transaction that runs the service, and a
unique constraint guards it. Two identical requests at once cannot both insert it: on Postgres the
second waits at its insert until the first commits, then finds the row and replays it; SQLite runs
write transactions one at a time. A request that fails (a 4xx or an unexpected error) rolls its key
row back with everything else.
"""
from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from labeling.api.errors import api_exception_handler, error_body
from labeling.errors import RejectedInput
from labeling.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255


def _fingerprint(request) -> str:
    """sha256 of the method, the path with its query, and the body as canonical JSON."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256("\0".join([request.method, request.get_full_path(), body]).encode()).hexdigest()


def _replay(*, request, key: str, method_path: str, fingerprint: str) -> Response:
    record = IdempotencyKey.objects.get(user=request.user, key=key, method_path=method_path)
    if record.request_hash != fingerprint:
        message = f"This {HEADER} was already used for a different request; send a new key with a new request."
        return Response(error_body(message, HEADER), status=422)
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def _run(view, handler, request, args, kwargs) -> Response:
    """The handler's response, or the error response the exception handler makes of what it raised."""
    try:
        return handler(view, request, *args, **kwargs)
    except Exception as exc:
        response = api_exception_handler(exc, view.get_exception_handler_context())
        if response is None:
            raise
        return response


def idempotent(handler):
    """Decorate an APIView's ``post``: honour the ``Idempotency-Key`` header (see the module)."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_CHARS:
            raise RejectedInput(f"The {HEADER} header must be 1 to {MAX_KEY_CHARS} characters.", field=HEADER)
        method_path, fingerprint = f"{request.method} {request.path}", _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user=request.user, key=key, method_path=method_path, request_hash=fingerprint,
                        response_status=0,  # set below, in the same transaction
                    )
            except IntegrityError:
                return _replay(request=request, key=key, method_path=method_path, fingerprint=fingerprint)
            response = _run(view, handler, request, args, kwargs)
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)  # nothing was written; a retry asks the service again
                return response
            record.response_status = response.status_code
            record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
            record.save(update_fields=["response_status", "response_body"])
        return response

    wrapper.idempotent = True
    return wrapper

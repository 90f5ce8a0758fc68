from django.http import JsonResponse
from django.views.decorators.http import require_GET

from labeling.selectors.health import system_health


@require_GET
def healthz(request):
    """Database, Redis and a Celery worker: 200 when all answer, 503 otherwise (JSON either way)."""
    report = system_health()
    return JsonResponse(report, status=200 if report["ok"] else 503)

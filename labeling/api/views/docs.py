"""/api/v1/docs/: a page of our own that lists the schema's operations (why: see labeling/api/__init__.py)."""
from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.http import require_GET


@cache
def _page() -> str:
    return (Path(__file__).resolve().parent.parent / "docs.html").read_text(encoding="utf-8")


@require_GET
def api_docs(request):
    return HttpResponse(_page(), content_type="text/html; charset=utf-8")

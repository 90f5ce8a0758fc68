"""The project's URLs plus ``/load/trivial``: the same middleware and session lookup, no other query, no template."""
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def trivial(request):
    """The labeler's session and user are loaded, as for every labeling request; nothing else."""
    return HttpResponse(f"ok {request.user.pk}".encode(), content_type="text/plain")


urlpatterns = [path("load/trivial", trivial), *project_urlpatterns]

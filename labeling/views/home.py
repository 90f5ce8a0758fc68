"""The home page: the projects a person labels in, with progress, their own figures and a Label button."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from labeling.selectors.labeler_home import labeler_home_rows
from labeling.selectors.projects import projects_where


@login_required
@require_GET
def home(request):
    context = {"rows": labeler_home_rows(user=request.user, now=timezone.now()),
               "managed": projects_where(user=request.user, role="reviewer").order_by("slug")}
    return render(request, "labeling/home.html", context)

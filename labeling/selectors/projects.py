"""Looking projects up by slug for commands, views and the API."""
from __future__ import annotations

from labeling.errors import RejectedInput
from labeling.models import DEFAULT_PROJECT_SLUG, Project, default_project_id


def project_by_slug(slug: str | None) -> Project:
    """The project ``slug`` names; none given: ``default``. An unknown slug is refused (404)."""
    if not slug or slug == DEFAULT_PROJECT_SLUG:
        return Project.objects.get(pk=default_project_id())
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise RejectedInput(f"No project {slug!r} (manage.py project_create {slug} --name NAME makes one).",
                            field="project", status=404)
    return project

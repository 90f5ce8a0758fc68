from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.selectors.projects import project_by_slug
from labeling.services.projects import project_add_member


class Command(BaseCommand):
    help = "Give a user a role in a project: labeler (ranks), reviewer (also reviews) or manager (also runs it)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the project")
        parser.add_argument("username")
        parser.add_argument("--role", default=Membership.Role.LABELER, help="labeler (default), reviewer or manager")

    def handle(self, *args, slug, username, role, **options):
        try:
            membership = project_add_member(project=project_by_slug(slug), username=username, role=role)
        except RejectedInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"{username} is a {membership.role} of {membership.project.slug}."))

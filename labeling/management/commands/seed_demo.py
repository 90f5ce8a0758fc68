from django.conf import settings
from django.core.management.base import BaseCommand

from labeling.services.demo import DEMO_ADMIN, DEMO_LABELERS, demo_seed


class Command(BaseCommand):
    help = "Create the demo users (admin, labeler1..3) and the demo ranking tasks. Safe to run again."

    def handle(self, *args, **options):
        result = demo_seed(password=settings.DEMO_PASSWORD)
        self.stdout.write(
            f"Demo: {result['tasks_created']} tasks and {result['users_created']} users created "
            f"(logins: {DEMO_ADMIN}, {', '.join(DEMO_LABELERS)})."
        )

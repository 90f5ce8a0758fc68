"""``manage.py stats_rebuild``: recount the agreement dashboard's cached figures from scratch.

Needed after gold tiers were edited or rankings deleted; new rankings are counted on their own.
"""
from django.core.management.base import BaseCommand

from labeling.services.stats import stats_rebuild_all


class Command(BaseCommand):
    help = "Recount every task's cached agreement figures (after editing gold tiers or deleting rankings)."

    def handle(self, *args, **options):
        counted = stats_rebuild_all()
        self.stdout.write(f"Counted {counted} rankings.")

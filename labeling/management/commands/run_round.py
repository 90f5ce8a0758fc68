import time

from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.models import TrainingRound
from labeling.selectors.projects import project_by_slug
from labeling.services.rounds import round_start


class Command(BaseCommand):
    help = "Start a training round (reward model -> DPO or PPO -> new tasks) on the Celery workers."

    def add_arguments(self, parser):
        parser.add_argument("--algo", choices=TrainingRound.Algo.values, required=True)
        parser.add_argument("--min-rankings", type=int, default=None,
                            help="new rankings needed since the last round (default: ROUND_MIN_NEW_RANKINGS)")
        parser.add_argument("--project", default="", help="project slug (default: the default project)")
        parser.add_argument("--wait", action="store_true", help="wait until the round ends and print its steps")

    def handle(self, *args, algo, min_rankings, project, wait, **options):
        try:
            training_round = round_start(algo=algo, min_new_rankings=min_rankings, project=project_by_slug(project))
        except RejectedInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Round {training_round.pk} ({algo}) started from {training_round.policy_in.name}.")
        if not wait:
            return
        seen = None
        while True:
            training_round.refresh_from_db()
            run = training_round.runs.order_by("-created_at", "-pk").first()
            line = f"{run.kind}: {run.status} {run.progress:.0f}%" if run else "queued"
            if line != seen:
                self.stdout.write(line)
                seen = line
            if not training_round.active:
                break
            time.sleep(2)
        if training_round.status != TrainingRound.Status.SUCCEEDED:
            raise CommandError(f"Round {training_round.pk} {training_round.status}: {training_round.error}")
        self.stdout.write(self.style.SUCCESS(f"Round {training_round.pk} succeeded: {training_round.policy_out.name}."))

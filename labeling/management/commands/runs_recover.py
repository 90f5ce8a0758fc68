from django.core.management.base import BaseCommand

from labeling.services.runs import runs_recover_interrupted


class Command(BaseCommand):
    help = ("Queue again the runs a stopped one-machine stack left 'running' (they resume from their "
            "checkpoints). `make run` calls it before starting its workers; not for multi-machine setups.")

    def handle(self, *args, **options):
        recovered = runs_recover_interrupted()
        if recovered:
            self.stdout.write(f"Resuming {len(recovered)} interrupted run(s): {', '.join(map(str, recovered))}.")

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.models import Run
from labeling.services.loop import loop_bootstrap


class Command(BaseCommand):
    help = ("Bootstrap the default policy once (a background run) and let it sample the first tasks. "
            "Does nothing when a policy version exists.")

    def add_arguments(self, parser):
        parser.add_argument("--sample-prompts", type=int, default=40, help="generated prompts to sample for")
        parser.add_argument("--follow", action="store_true", help="draw the runs' progress until they end")

    def handle(self, *args, sample_prompts, follow, **options):
        try:
            run = loop_bootstrap(sample_prompts=sample_prompts)
        except ValueError as exc:  # RLHF_DEFAULT_POLICY is not a checkpoint
            raise CommandError(f"RLHF_DEFAULT_POLICY: {exc}") from None
        if run is None:
            self.stdout.write("A policy version exists; nothing to bootstrap.")
            return
        if run.kind == Run.Kind.SAMPLE:  # RLHF_DEFAULT_POLICY was registered; only sampling is left
            self.stdout.write(f"Sampling the first tasks with the configured policy (run {run.pk}).")
            if follow:
                self._wait(run, "sampling the first tasks")
            return
        self.stdout.write(f"Bootstrapping the default policy (run {run.pk}); watch it at /runs/{run.pk}/")
        if follow:
            self._follow(run)

    def _follow(self, run: Run):
        if not self._wait(run, "training the default policy"):
            return
        sample = Run.objects.filter(kind=Run.Kind.SAMPLE, pk__gt=run.pk).order_by("pk").first()
        if sample is not None and self._wait(sample, "sampling the first tasks"):
            self.stdout.write(f"{sample.outputs.get('tasks_created', 0)} new tasks sampled by the default policy.")

    def _wait(self, run: Run, label: str) -> bool:
        with tqdm(total=100, desc=label, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}") as bar:
            while True:
                run.refresh_from_db()
                bar.n = run.progress
                bar.refresh()
                if run.status == Run.Status.SUCCEEDED:
                    return True
                if run.status in (Run.Status.FAILED, Run.Status.CANCELLED):
                    self.stderr.write(f"run {run.pk} {run.status}: {run.error}")
                    return False
                time.sleep(2)

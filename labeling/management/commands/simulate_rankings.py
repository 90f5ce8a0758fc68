"""``manage.py simulate_rankings``: fill the database with simulated labelers' rankings (demo, benchmark)."""
from django.core.management.base import BaseCommand

from labeling.services.simulated_rankings import SimulationSpec, rankings_simulate
from labeling.services.stats import stats_refresh


class Command(BaseCommand):
    help = "Create tasks ranked by simulated labelers (modeling.simulation.oracle) and planted random labelers."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=300, help="tasks to create")
        parser.add_argument("--k", type=int, default=4, help="completions per task (2 to 9)")
        parser.add_argument("--labelers", type=int, default=5, help="simulated labelers")
        parser.add_argument("--random-labelers", type=int, default=1, help="planted labelers who rank at random")
        parser.add_argument("--per-task", type=int, default=3, help="rankings per task")
        parser.add_argument("--days", type=int, default=28, help="spread the rankings over this many days")
        parser.add_argument("--target-agreement", type=float, default=None,
                            help="calibrate the labelers' noise to this pairwise agreement (InstructGPT: 0.726)")
        parser.add_argument("--seed", type=int, default=0, help="random seed")

    def handle(self, *args, **o):
        spec = SimulationSpec(tasks=o["tasks"], k=o["k"], labelers=o["labelers"], random_labelers=o["random_labelers"],
                              per_task=o["per_task"], days=o["days"], seed=o["seed"],
                              target_agreement=o["target_agreement"])
        counts = rankings_simulate(spec=spec)
        counts["counted"] = stats_refresh()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))

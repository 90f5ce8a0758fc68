from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.management.commands._files import read_text
from labeling.services.projects import project_create


class Command(BaseCommand):
    help = "Create a project: its slug, name, labeling instructions (a Markdown file) and the K it accepts."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="short name in URLs and --project flags (letters, digits, - and _)")
        parser.add_argument("--name", required=True, help="the name people see")
        parser.add_argument("--instructions", default="", help="a Markdown file of labeling instructions")
        parser.add_argument("--k-min", type=int, default=2, help="fewest completions per task (2..9)")
        parser.add_argument("--k-max", type=int, default=9, help="most completions per task (2..9)")
        parser.add_argument("--required-rankings", type=int, default=None,
                            help="labelers per task unless an import says otherwise (default: the setting)")
        parser.add_argument("--lease-minutes", type=int, default=None,
                            help="how long a labeler holds a task (default: the setting)")
        parser.add_argument("--gold-rate", type=float, default=None,
                            help="share of leases that are gold tasks served as honeypots, 0..1 (default 0.05; "
                                 "0: gold tasks are ordinary tasks)")

    def handle(self, *args, slug, name, instructions, k_min, k_max, required_rankings, lease_minutes, gold_rate,
               **options):
        text = read_text(instructions) if instructions else ""
        try:
            project = project_create(slug=slug, name=name, instructions=text, k_min=k_min, k_max=k_max,
                                     required_rankings=required_rankings, lease_minutes=lease_minutes,
                                     gold_rate=gold_rate)
        except RejectedInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Created project {project.slug} ({project.name}), K {k_min}..{k_max}."))

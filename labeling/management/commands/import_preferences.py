from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.selectors.projects import project_by_slug
from labeling.import_formats import parse_preference_pairs
from labeling.management.commands._files import read_lines
from labeling.services.imports import preferences_import


class Command(BaseCommand):
    help = ('Import preference pairs (TRL JSONL: {"prompt", "chosen", "rejected", "labeler"?}, text or TRL\'s '
            "conversational pairs) as K=2 tasks, each with a ranking per labeler. Labelers missing here are created "
            "as inactive external accounts. All or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--project", default="", help="project slug (default: the default project)")
        parser.add_argument("file")
        parser.add_argument("--labeler", default=None,
                            help="the external labeler of lines without a \"labeler\" (created inactive if missing)")
        parser.add_argument("--task-set", default=None, help="the tasks' set (default: the file's name)")

    def handle(self, *args, project, file, labeler, task_set, **options):
        lines = read_lines(file)
        try:
            specs = parse_preference_pairs(lines, default_labeler=labeler)
            tasks = preferences_import(specs=specs, source_detail=file, task_set=task_set,
                                       project=project_by_slug(project))
        except RejectedInput as exc:
            raise CommandError(f"{file}: {exc.message}; nothing was imported") from None
        rankings = sum(len(spec.judgements) for spec in specs)
        self.stdout.write(self.style.SUCCESS(f"Imported {rankings} rankings on {len(tasks)} tasks from {file}."))

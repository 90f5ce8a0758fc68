from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.selectors.projects import project_by_slug
from labeling.import_formats import parse_tasks
from labeling.management.commands._files import read_lines
from labeling.services.imports import tasks_import


class Command(BaseCommand):
    help = ('Import ranking tasks from JSONL: {"prompt": str or [{"role", "content"}, ...], "completions": [...], '
            '"gold_ranking"?}. All or nothing.')

    def add_arguments(self, parser):
        parser.add_argument("--project", default="", help="project slug (default: the default project)")
        parser.add_argument("file")
        parser.add_argument("--skip-existing", action="store_true", help="skip lines whose id is already imported")

    def handle(self, *args, project, file, skip_existing, **options):
        try:
            tasks = tasks_import(specs=parse_tasks(read_lines(file)), source_detail=file, skip_existing=skip_existing,
                                 project=project_by_slug(project))
        except RejectedInput as exc:
            raise CommandError(f"{file}: {exc.message}; nothing was imported") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {len(tasks)} tasks from {file}."))

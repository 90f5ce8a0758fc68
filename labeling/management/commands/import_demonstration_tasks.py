from django.core.management.base import BaseCommand, CommandError

from labeling.demonstration_formats import parse_demonstrations
from labeling.errors import RejectedInput
from labeling.management.commands._files import read_lines
from labeling.selectors.projects import project_by_slug
from labeling.services.demonstration_imports import demonstrations_import


class Command(BaseCommand):
    help = ('Import demonstration tasks from TRL prompt-completion JSONL: {"prompt": str or [{"role", "content"}, '
            '...]} asks labelers to write the answer; a line with "completion" too is a demonstration already '
            "written, stored as --labeler's, accepted. All or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--project", default="", help="project slug (default: the default project)")
        parser.add_argument("file")
        parser.add_argument("--labeler", default=None,
                            help="the user (existing) whose written demonstrations these are")
        parser.add_argument("--required", type=int, default=None,
                            help="different labelers each task asks for (1 to 50, default 1)")
        parser.add_argument("--task-set", default=None, help="the tasks' set (default: the file's name)")

    def handle(self, *args, project, file, labeler, required, task_set, **options):
        lines = read_lines(file)
        try:
            tasks, written = demonstrations_import(specs=parse_demonstrations(lines), project=project_by_slug(project),
                                                   labeler=labeler, required=required, source_detail=file,
                                                   task_set=task_set)
        except RejectedInput as exc:
            raise CommandError(f"{file}: {exc.message}; nothing was imported") from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported {len(tasks)} demonstration tasks ({written} with their demonstration written) from {file}."))

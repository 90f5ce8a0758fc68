from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.selectors.projects import project_by_slug
from labeling.import_formats import parse_prompts, parse_prompts_csv
from labeling.management.commands._files import read_text
from labeling.services.imports import prompts_import

FORMATS = ("auto", "jsonl", "csv")


class Command(BaseCommand):
    help = ('Import prompts from JSONL ({"prompt": str or [{"role", "content"}, ...], "id"?: str, "metadata"?: {...}}; '
            "a conversation ends with a user turn) or CSV (a string \"prompt\" column; optional \"id\", \"metadata\" "
            "as JSON, other columns such as task_set go into the metadata). All or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--project", default="", help="project slug (default: the default project)")
        parser.add_argument("file")
        parser.add_argument("--format", dest="fmt", default="auto",
                            help="jsonl or csv; auto (the default) goes by the file name's .csv ending")
        parser.add_argument("--skip-existing", action="store_true", help="skip lines whose id is already imported")

    def handle(self, *args, project, file, fmt, skip_existing, **options):
        if fmt not in FORMATS:
            raise CommandError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        is_csv = fmt == "csv" or (fmt == "auto" and file.lower().endswith(".csv"))
        text = read_text(file)
        try:
            specs = parse_prompts_csv(text) if is_csv else parse_prompts(text.splitlines())
            prompts = prompts_import(specs=specs, skip_existing=skip_existing, project=project_by_slug(project))
        except RejectedInput as exc:
            raise CommandError(f"{file}: {exc.message}; nothing was imported") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {len(prompts)} prompts from {file}."))

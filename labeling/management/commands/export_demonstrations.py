from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.errors import RejectedInput
from labeling.selectors.projects import project_by_slug
from labeling.services.demonstration_exports import demonstrations_to_path


class Command(BaseCommand):
    help = ('Export a project\'s demonstrations as TRL prompt-completion JSONL ({"prompt", "completion"} plus '
            "labeler, task_id and review_status): rejected ones left out unless --include-rejected, a reviewer's "
            "correction in place of the text. Written whole or not at all.")

    def add_arguments(self, parser):
        parser.add_argument("--project", default="", help="project slug (default: the default project)")
        parser.add_argument("--include-rejected", action="store_true", help="keep demonstrations a reviewer rejected")
        parser.add_argument("out", help="the file to write; replaced atomically")

    def handle(self, *args, project, include_rejected, out, **options):
        try:
            written = demonstrations_to_path(project=project_by_slug(project), path=Path(out),
                                             include_rejected=include_rejected)
        except RejectedInput as exc:
            raise CommandError(exc.message) from None
        except OSError as exc:
            raise CommandError(f"{out}: cannot write it ({exc.strerror or exc})") from None
        self.stdout.write(self.style.SUCCESS(f"Wrote {written} demonstrations to {out}."))

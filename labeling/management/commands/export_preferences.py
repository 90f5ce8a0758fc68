import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.export_formats import DEFAULT_PAIRS_MODE, PAIRS_MODES
from labeling.errors import RejectedInput
from labeling.selectors.projects import project_by_slug
from labeling.selectors.rankings import ranking_filter_parse
from labeling.services.exports import PATH_FORMATS, export_options_check, export_selection, export_to_path


class Command(BaseCommand):
    help = ("Export one project's rankings: rankings (K-way JSONL), pairs (TRL prompt/chosen/rejected JSONL), csv, "
            "or hf (a directory datasets.load_dataset reads). Written whole or not at all.")

    def add_arguments(self, parser):
        # Formats, modes, numbers and dates are checked in handle(), so a bad one is one clear line.
        parser.add_argument("--format", dest="fmt", default="", help=f"one of {', '.join(PATH_FORMATS)}")
        parser.add_argument("--out", default="", help="file to write (a directory for hf); replaced atomically")
        parser.add_argument("--project", default="", help="the project's slug (default: default)")
        parser.add_argument("--round", default=None, help="only tasks sampled by this training round (id)")
        parser.add_argument("--task-set", default=None, help="only tasks of this task set")
        parser.add_argument("--labeler", default=None, help="only this labeler's rankings (username)")
        parser.add_argument("--min-agreement", default=None,
                            help="only tasks whose pairwise agreement is at least this (0..1)")
        parser.add_argument("--include-gold", action="store_true", help="keep gold (quality-check) tasks")
        parser.add_argument("--include-rejected", action="store_true", help="keep rankings a reviewer rejected")
        parser.add_argument("--since", default=None, help="submitted on or after this UTC date (YYYY-MM-DD)")
        parser.add_argument("--until", default=None, help="submitted on or before this UTC date (YYYY-MM-DD)")
        parser.add_argument("--pairs", default=DEFAULT_PAIRS_MODE,
                            help=f"pairs mode for pairs and hf: {' or '.join(PAIRS_MODES)} (default {DEFAULT_PAIRS_MODE})")

    def handle(self, *args, fmt, out, project, round, task_set, labeler, min_agreement, include_gold, since, until,
               pairs, include_rejected, **options):
        if not fmt:
            raise CommandError(f"--format is required: one of {', '.join(PATH_FORMATS)}")
        if not out:
            raise CommandError("--out is required: the file (or directory, for hf) to write")
        try:
            export_options_check(fmt=fmt, pairs_mode=pairs, to_path=True)
            filters = ranking_filter_parse(project=project_by_slug(project), round=round, task_set=task_set,
                                           labeler=labeler, min_agreement=min_agreement, include_gold=include_gold,
                                           include_rejected=include_rejected, since=since, until=until)
            total = export_selection(filters=filters).count()
            with tqdm(total=total, desc=f"export {fmt}", unit="ranking", file=sys.stderr,
                      disable=not total) as bar:
                result = export_to_path(fmt=fmt, path=Path(out), filters=filters, pairs_mode=pairs,
                                        progress=bar.update)
        except RejectedInput as exc:  # ExportError too
            raise CommandError(exc.message) from None
        except OSError as exc:
            raise CommandError(f"{out}: cannot write it ({exc.strerror or exc})") from None
        written = result["lines"] - (fmt == "csv")  # the header is not a row
        what = {"rankings": "rankings", "pairs": "pairs", "csv": "CSV rows", "hf": "pairs"}[fmt]
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {written} {what} from {result['rankings']} rankings to {result['path']}."))

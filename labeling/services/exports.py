"""Exporting rankings: streamed lines for a response, or a file (or dataset directory) written whole.

Formats and the pairs modes are described in :mod:`labeling.export_formats`; the default pairs mode
is ``per_labeler`` (every labeler's judgement is a row, as the reward model trains on them).
``export_stream`` checks its arguments before it returns, so a view can answer 400 before it
starts streaming; it reads the rankings task by task, ``chunk_size`` at a time (two queries per
chunk), never all at once. ``export_to_path`` writes to a temporary file beside the target and
renames it into place, so a failed export leaves no half-written file. Which rankings: a
:class:`labeling.selectors.rankings.RankingFilter` (one project), built and checked by
``ranking_filter_parse`` before it gets here.

A ``min_agreement`` filter first counts rankings the agreement cache has not seen yet
(:func:`labeling.services.stats.stats_refresh`), so the figure is current.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from itertools import groupby
from pathlib import Path

from django.db.models import QuerySet

from labeling import export_formats as formats
from labeling.errors import RejectedInput
from labeling.selectors.exports import ranking_record, rankings_by_task
from labeling.selectors.rankings import RankingFilter, rankings_selected
from labeling.csv_cells import csv_cell

STREAM_FORMATS = ("rankings", "pairs", "csv")
PATH_FORMATS = STREAM_FORMATS + ("hf",)
# The interface's first name for the default mode: every mode drops ties.
_PAIRS_ALIASES = {"drop_ties": formats.DEFAULT_PAIRS_MODE}


class ExportError(RejectedInput, ValueError):
    """An unknown format or pairs mode, or an output path that cannot be written; nothing was written."""


def _pairs_mode(mode: str) -> str:
    mode = _PAIRS_ALIASES.get(mode, mode)
    if mode not in formats.PAIRS_MODES:
        raise ExportError(f"Unknown pairs mode {mode!r}: choose {' or '.join(formats.PAIRS_MODES)}.", field="pairs")
    return mode


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise ExportError(f"Unknown export format {fmt!r}: choose {', '.join(allowed)}.", field="format")


def export_options_check(*, fmt: str, pairs_mode: str, to_path: bool) -> None:
    """ExportError on an unknown format (of a file when ``to_path``, else of a stream) or pairs mode:
    checked before the filters are parsed, so a mistyped option needs no database."""
    _check_format(fmt, PATH_FORMATS if to_path else STREAM_FORMATS)
    _pairs_mode(pairs_mode)


def export_selection(*, filters: RankingFilter) -> QuerySet:
    """The rankings an export of ``filters`` writes: :func:`rankings_selected`, after counting new
    rankings into the agreement cache when the filter reads it (``min_agreement``)."""
    if filters.min_agreement is not None:
        from labeling.services.stats import stats_refresh

        stats_refresh(project=filters.project)
    return rankings_selected(filters)


def _csv_line(row: list) -> str:
    buffer = io.StringIO()
    # "\r\n" (RFC 4180) also makes the writer quote a cell holding a bare "\r"; with "\n" alone that
    # cell went out unquoted and split the row, so "\r=1+1" slipped a formula past csv_cell.
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


def _task_groups(rankings: QuerySet, chunk_size: int, on_ranking) -> Iterator[list[tuple]]:
    """[(ranking, record), ...] of one task at a time."""
    for _task_id, group in groupby(rankings_by_task(rankings=rankings, chunk_size=chunk_size), key=lambda r: r.task_id):
        pairs = [(ranking, ranking_record(ranking)) for ranking in group]
        yield pairs
        if on_ranking is not None:
            on_ranking(len(pairs))


def _lines(fmt: str, rankings: QuerySet, pairs_mode: str, chunk_size: int, on_ranking) -> Iterator[str]:
    if fmt == "csv":
        yield _csv_line(formats.CSV_HEADER)
    for group in _task_groups(rankings, chunk_size, on_ranking):
        if fmt == "rankings":
            yield from (formats.json_line(record) for _, record in group)
        elif fmt == "csv":
            for ranking, record in group:
                yield _csv_line(formats.csv_row(ranking_id=ranking.pk, created_at=ranking.created_at.isoformat(),
                                                record=record))
        elif pairs_mode == "majority":
            yield from (formats.json_line(pair) for pair in formats.majority_pairs(r for _, r in group))
        else:
            for _, record in group:
                yield from (formats.json_line(pair) for pair in formats.labeler_pairs(record))


def export_stream(*, fmt: str, filters: RankingFilter, pairs_mode: str = formats.DEFAULT_PAIRS_MODE,
                  chunk_size: int = 500, on_ranking: Callable[[int], None] | None = None) -> Iterator[str]:
    """Lines (each ending in a newline) of the export; ExportError here, before the first line, on
    an unknown format or pairs mode. ``on_ranking(n)`` is told after each task's n rankings."""
    _check_format(fmt, STREAM_FORMATS)
    mode = _pairs_mode(pairs_mode)
    return _lines(fmt, export_selection(filters=filters), mode, chunk_size, on_ranking)


def _check_target(path: Path, *, directory: bool) -> None:
    if not path.parent.is_dir():
        raise ExportError(f"{path.parent}: no such directory.", field="out")
    if directory and path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ExportError(f"{path} already exists and is not an empty directory.", field="out")
    if not directory and path.is_dir():
        raise ExportError(f"{path} is a directory; give a file name.", field="out")


def _write_lines(lines: Iterator[str], path: Path) -> int:
    """Write to a temp file beside ``path``, then rename it into place; returns the lines written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            for line in lines:
                handle.write(line)
                count += 1
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is for the temporary file only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _write_dataset(rankings: QuerySet, path: Path, pairs_mode: str, filters: RankingFilter, on_ranking) -> dict:
    """train.jsonl (pairs), rankings.jsonl and a dataset card, in a temp directory renamed to ``path``."""
    # datasets.load_dataset refuses a column of strings and lists mixed: once the export holds a
    # conversation, its string prompts go out as one user message each (what a string prompt means).
    conversational = rankings.filter(task__prompt__messages__isnull=False).exists()
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    counts = {"rankings": 0, "lines": 0}
    try:
        with open(tmp / "train.jsonl", "w", encoding="utf-8") as pairs, \
                open(tmp / "rankings.jsonl", "w", encoding="utf-8") as records:
            for group in _task_groups(rankings, 500, on_ranking):
                if conversational:
                    group = [(ranking, formats.with_messages(record)) for ranking, record in group]
                for _, record in group:
                    records.write(formats.json_line(record))
                    counts["rankings"] += 1
                rows = (formats.majority_pairs(r for _, r in group) if pairs_mode == "majority"
                        else [p for _, record in group for p in formats.labeler_pairs(record)])
                pairs.writelines(formats.json_line(row) for row in rows)
                counts["lines"] += len(rows)
        if not counts["lines"]:
            raise ExportError("No preference pairs match the filters; a dataset needs at least one.", field="filters")
        card = formats.dataset_card(pairs=counts["lines"], rankings=counts["rankings"], pairs_mode=pairs_mode,
                                    filters=filters.describe())
        (tmp / "README.md").write_text(card, encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp's 0700 is for the temporary directory only
        if path.is_dir():
            path.rmdir()  # empty, checked before
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def export_to_path(*, fmt: str, path: Path, filters: RankingFilter, pairs_mode: str = formats.DEFAULT_PAIRS_MODE,
                   progress: Callable[[int], None] | None = None) -> dict:
    """Write the export to ``path`` (``hf``: a directory ``datasets.load_dataset`` reads) whole or
    not at all. Returns ``{"format", "path", "rankings", "lines", "pairs_mode"}``; ``lines`` counts
    records, pairs or CSV rows (header included)."""
    _check_format(fmt, PATH_FORMATS)
    mode = _pairs_mode(pairs_mode)
    path = Path(path)
    _check_target(path, directory=fmt == "hf")
    rankings = export_selection(filters=filters)
    seen = {"rankings": 0}

    def on_ranking(n: int) -> None:
        seen["rankings"] += n
        if progress is not None:
            progress(n)

    if fmt == "hf":
        counts = _write_dataset(rankings, path, mode, filters, on_ranking)
    else:
        lines = _write_lines(_lines(fmt, rankings, mode, 500, on_ranking), path)
        counts = {"rankings": seen["rankings"], "lines": lines}
    return {"format": fmt, "path": str(path), "pairs_mode": mode, **counts}

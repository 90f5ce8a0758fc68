"""Rankings in the K-way JSONL shape of DESIGN.md, streamed (no list of every ranking in memory).

``{"prompt": str, "completions": [str, ...], "ranking": [[int, ...], ...], "labeler": str}`` with
indexes into ``completions``, which are the task's completions in id order (the same order for
every labeler of a task, so their rankings share one comparison group in training). A conversation's
``prompt`` is its list of ``{"role", "content"}`` messages (``Prompt.value``).

What else the labeler said rides along, by the same indexes: ``"scores"`` (one 1-7 score or null per
completion, ``[5, null, 3]``), ``"flags"`` (one list of the project's flag keys per completion,
``[[], ["harmful"], []]``) and ``"comment"`` (text, "" when none). Lists rather than the stored
``{"<completion id>": ...}`` maps, so a reader needs no completion ids; ``python -m modeling``
ignores them.

Which rankings an export reads is chosen by :mod:`labeling.selectors.rankings` (rejected ones left
out unless asked for); a ranking a reviewer corrected is written in the reviewer's order
(``Ranking.final_tiers``). Also a model
version's checkpoint directory as zip bytes written as they are read (:func:`checkpoint_zip_chunks`).
"""
from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.db.models import Prefetch, QuerySet

from labeling.models import Completion, Ranking


def ranking_record(ranking: Ranking) -> dict:
    completions = sorted(ranking.task.completions.all(), key=lambda c: c.pk)
    index = {c.pk: i for i, c in enumerate(completions)}
    return {
        "prompt": ranking.task.prompt.value,
        "completions": [c.text for c in completions],
        "ranking": [[index[cid] for cid in tier] for tier in ranking.final_tiers],  # a reviewer's correction wins
        "labeler": ranking.labeler.get_username(),
        "task_id": ranking.task_id,
        "scores": [ranking.scores.get(str(c.pk)) for c in completions],
        "flags": [list(ranking.flags.get(str(c.pk), [])) for c in completions],
        "comment": ranking.comment,
    }


def _with_task(queryset: QuerySet[Ranking]) -> QuerySet[Ranking]:
    queryset = queryset.select_related("task__prompt", "labeler")
    return queryset.prefetch_related(Prefetch("task__completions", queryset=Completion.objects.order_by("pk")))


def rankings_records(*, rankings: QuerySet[Ranking] | None = None, chunk_size: int = 500) -> Iterator[dict]:
    queryset = _with_task(rankings if rankings is not None else Ranking.objects.all())
    for ranking in queryset.order_by("pk").iterator(chunk_size=chunk_size):
        yield ranking_record(ranking)


def rankings_by_task(*, rankings: QuerySet[Ranking], chunk_size: int = 500) -> Iterator[Ranking]:
    """The rankings with their task, prompt, completions and labeler, task by task (a task's rankings
    are consecutive, oldest first). Two queries per ``chunk_size`` rankings, whatever their number."""
    yield from _with_task(rankings).order_by("task_id", "pk").iterator(chunk_size=chunk_size)


# Weights hardly compress; deflating them would only cost CPU on the web process.
_STORED_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf"}
_COPY_CHUNK = 1 << 20


class _Chunks:
    """A write-only file for ``zipfile``: it keeps what was written until :meth:`take` hands it on.
    Having no ``tell``/``seek``, zipfile writes data descriptors and never goes back."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def checkpoint_files(directory: Path) -> list[Path]:
    """Regular files under ``directory``; symbolic links are left out so nothing outside is served."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink())  # rglob skips linked dirs


def checkpoint_zip_chunks(*, directory: Path, root: str) -> Iterator[bytes]:
    """A zip of ``directory`` with every file under the folder ``root``, about 1 MiB at a time:
    unzipped, ``root`` is a checkpoint directory ``from_pretrained`` loads."""
    out = _Chunks()
    with zipfile.ZipFile(out, "w") as archive:
        for path in checkpoint_files(directory):
            name = f"{root}/{path.relative_to(directory).as_posix()}"
            method = zipfile.ZIP_STORED if path.suffix in _STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            info = zipfile.ZipInfo.from_file(path, name)
            info.compress_type = method
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while block := source.read(_COPY_CHUNK):
                    target.write(block)
                    if chunk := out.take():
                        yield chunk
            if chunk := out.take():
                yield chunk
    yield out.take()  # the central directory

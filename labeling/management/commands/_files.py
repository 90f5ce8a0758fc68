"""Reading an import file for a management command, with one clear line when it can't be read."""
from pathlib import Path

from django.core.management.base import CommandError


def read_text(path: str) -> str:
    """The whole file; a byte-order mark (spreadsheets write one) is dropped."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read it ({exc})") from None


def read_lines(path: str) -> list[str]:
    return read_text(path).splitlines()

"""Errors that the CLI reports as one clear line (and the web app as a failed run's message)."""


class InputError(ValueError):
    """Bad input: a malformed file, an unknown path, an impossible setting. Nothing was written."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line

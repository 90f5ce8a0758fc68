"""The one error services raise for input they refuse (views turn it into a 4xx with the message), and
the one test of a number in refused-input checks."""
import math


def is_finite_number(value) -> bool:
    """A JSON number a setting may hold: an int or float, finite, and not a bool (``True`` is an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class RejectedInput(Exception):
    """Input refused with a message for a person; nothing was written.

    ``field`` names what was wrong (``tiers``, ``scores``, ``assignment``, a file line...);
    ``status`` is the HTTP status a view should answer with (400, 403, 404 or 409).
    """

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def as_dict(self) -> dict:
        return {"error": self.message, "field": self.field}

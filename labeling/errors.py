"""The one error services raise for input they refuse. Views turn it into a 4xx with the message."""


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

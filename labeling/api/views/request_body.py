"""The JSON body of a request, refused with a 400 naming ``body`` when it is not the expected shape."""
from labeling.errors import RejectedInput

MAX_ITEMS = 1000  # items per bulk request; more should go through the import commands


def body_object(request) -> dict:
    if not isinstance(request.data, dict):
        raise RejectedInput("The request body must be a JSON object.", field="body")
    return request.data


def body_items(request, what: str) -> list:
    items = request.data
    if not isinstance(items, list) or not items:
        raise RejectedInput(f"The request body must be a non-empty JSON list of {what}.", field="body")
    if len(items) > MAX_ITEMS:
        raise RejectedInput(f"At most {MAX_ITEMS} {what} per request; got {len(items)}.", field="body")
    return items

"""API clients for the personas: token auth by default (``api(user)``), anonymous with ``api()``."""
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.services.assignment import task_assign_next


@pytest.fixture
def api(db):
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


@pytest.fixture
def leased(labeler, task_factory):
    """A task of 3 completions leased to ``labeler``: the Assignment."""
    task_factory(k=3)
    return task_assign_next(labeler=labeler)


def assert_error(response, status: int, field=None, words: str = ""):
    """The API's one error shape, with the status, the field at fault and some words of the message."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"message", "field"}, body
    assert body["error"]["field"] == field, body
    assert words.lower() in body["error"]["message"].lower(), body

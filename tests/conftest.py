"""Personas shared by every test: two labelers and an admin (healthchecks' BaseTestCase style)."""
import pytest

from tests.factories import UserFactory, make_task

PASSWORD = "pw-for-tests"


@pytest.fixture
def labeler(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_labeler(db):
    return UserFactory(username="bob")


@pytest.fixture
def admin(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def task_factory(db):
    """``task_factory(k=4, texts=None, required_rankings=3, prompt_text=None, gold_tiers=None)``."""
    return make_task


@pytest.fixture
def labeler_client(client, labeler):
    client.force_login(labeler)
    return client


# Tiny real models (hidden size 16, 2 layers, real tokenizers), built once per session.
from tests.modeling.tiny_policy import *  # noqa: E402,F401,F403
from tests.modeling.tiny_reward import *  # noqa: E402,F401,F403
from tests.modeling.tiny_chat_model import *  # noqa: E402,F401,F403

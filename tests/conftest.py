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

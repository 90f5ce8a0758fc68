"""Two projects and their people, for the project settings, members and invite tests.

``helpful`` (A) has ``carol`` as its manager and the ``labeler`` persona (alice) as a labeler;
``harmless`` (B) has the ``other_labeler`` persona (bob) as a labeler. Import the fixtures by name.
"""
import pytest
from django.test import Client

from labeling.models import Membership
from labeling.services.projects import project_create
from tests.factories import UserFactory


@pytest.fixture
def project_a(db):
    return project_create(slug="helpful", name="Helpfulness")


@pytest.fixture
def project_b(db):
    return project_create(slug="harmless", name="Harmlessness")


@pytest.fixture
def manager_a(project_a):
    user = UserFactory(username="carol")
    Membership.objects.create(project=project_a, user=user, role=Membership.Role.MANAGER)
    return user


@pytest.fixture
def labeler_a(project_a, labeler):
    Membership.objects.create(project=project_a, user=labeler, role=Membership.Role.LABELER)
    return labeler


@pytest.fixture
def member_b(project_b, other_labeler):
    Membership.objects.create(project=project_b, user=other_labeler, role=Membership.Role.MANAGER)
    return other_labeler


def signed_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client

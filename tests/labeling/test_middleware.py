"""Every response carries the Content-Security-Policy: no inline or foreign script, no framing."""
import pytest
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.parametrize("url", ["/accounts/login/", "/healthz", "/api/v1/schema/"])
def test_pages_and_the_api_carry_the_policy(client, db, url):
    policy = client.get(url)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_the_labeler_page_carries_it(client, db):
    client.force_login(UserFactory())
    assert "script-src 'self'" in client.get(reverse("label"))["Content-Security-Policy"]


def test_an_empty_setting_sends_no_header(client, db, settings):
    settings.CONTENT_SECURITY_POLICY = ""
    assert "Content-Security-Policy" not in client.get("/accounts/login/")

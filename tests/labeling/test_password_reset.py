"""Password reset by mail: Django's views, the backend from settings (locmem in tests)."""
import re

from django.contrib.auth import authenticate
from django.core import mail

from tests.factories import UserFactory


def test_a_reset_request_mails_one_link_that_sets_a_new_password(client, db):
    user = UserFactory(username="dana", email="dana@example.com")
    response = client.post("/accounts/password_reset/", {"email": "dana@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)  # Django swaps the token for a session and redirects
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "a-new-long-pass-77", "new_password2": "a-new-long-pass-77"})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert authenticate(username="dana", password="a-new-long-pass-77") == user
    assert authenticate(username="dana", password="pw-for-tests") is None
    assert not client.get(link, follow=True).context["validlink"]  # the link works once


def test_an_unknown_address_sends_nothing_and_says_the_same(client, db):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_mail_goes_to_smtp_when_email_host_is_set(monkeypatch):
    """base.py picks the backend from EMAIL_HOST (read at import, so re-read in a fresh namespace)."""
    import runpy

    import config.settings.base as base

    monkeypatch.setenv("EMAIL_HOST", "smtp.example.com")
    monkeypatch.setenv("EMAIL_PORT", "2525")
    monkeypatch.setenv("EMAIL_USE_SSL", "1")
    smtp = runpy.run_path(base.__file__)
    assert (smtp["EMAIL_BACKEND"], smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_SSL"],
            smtp["EMAIL_USE_TLS"]) == ("django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", 2525,
                                       True, False)
    monkeypatch.delenv("EMAIL_HOST")
    assert runpy.run_path(base.__file__)["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_the_login_page_links_to_the_reset(client, db):
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()

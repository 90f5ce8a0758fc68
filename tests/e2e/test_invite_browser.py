"""An invite link in a real browser: a manager makes one, a new person joins through it and labels.

Run: ``pytest -m e2e tests/e2e/test_invite_browser.py``.
"""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from labeling.models import Assignment, Membership, Project, Prompt, ProjectInvite, default_project_id
from labeling.services.projects import project_create
from tests.conftest import PASSWORD
from tests.e2e.test_label_browser import wait_for_task
from tests.factories import UserFactory, make_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WAIT_S = 45


def _task_in(project: Project):
    task = make_task(k=3)
    Prompt.objects.filter(pk=task.prompt_id).update(project=project)
    return task


def _submit(browser, form_css: str, fields: dict[str, str]) -> None:
    form = browser.find_element(By.CSS_SELECTOR, form_css)
    for name, value in fields.items():
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def _wait_for(browser, css: str):
    return WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, css),
                                                message=f"no {css} on {browser.current_url}")[0]


def test_a_manager_invites_a_labeler_who_joins_labels_and_cannot_reuse_the_link(browser, live_server):
    helpful, harmless = project_create(slug="helpful", name="Helpfulness"), project_create(slug="harmless",
                                                                                            name="Harmlessness")
    # made on first use (an earlier transactional test may have flushed it); open to all, every account labels there
    Project.objects.filter(pk=default_project_id()).update(open_to_all=False)
    helpful_task, _ = _task_in(helpful), _task_in(harmless)
    manager = UserFactory(username="carol")
    Membership.objects.create(project=helpful, user=manager, role=Membership.Role.MANAGER)

    # The manager makes a labeler invite on the project's members page.
    browser.get(f"{live_server.url}/accounts/login/?next=/projects/helpful/members/")
    _submit(browser, "main form", {"username": "carol", "password": PASSWORD})
    invite_form = 'form[action="/projects/helpful/invites/"]'
    Select(_wait_for(browser, f"{invite_form} select[name=role]")).select_by_value("labeler")
    browser.find_element(By.CSS_SELECTOR, f"{invite_form} button[type=submit]").click()
    link = _wait_for(browser, "#invite-url").get_attribute("value")
    assert link.startswith(f"{live_server.url}/invites/") and ProjectInvite.objects.get().role == "labeler"

    # A new visitor opens it, makes an account and lands on their home with only that project.
    browser.delete_all_cookies()
    browser.get(link)
    assert "Join Helpfulness" in browser.find_element(By.TAG_NAME, "h1").text
    _submit(browser, "main form", {"username": "erin", "email": "erin@example.com",
                                   "password1": "a-long-new-pass-42", "password2": "a-long-new-pass-42"})
    _wait_for(browser, "section.home-project")
    assert browser.current_url == f"{live_server.url}/"
    assert [s.get_attribute("data-project") for s in browser.find_elements(By.CSS_SELECTOR, "section.home-project")
            ] == ["helpful"]
    erin = Membership.objects.select_related("user").get(user__username="erin")
    assert (erin.project, erin.role, erin.user.email) == (helpful, "labeler", "erin@example.com")

    # Their Label button leases a task of that project.
    browser.find_element(By.CSS_SELECTOR, 'section.home-project[data-project="helpful"] a.btn-primary').click()
    assignment_id = wait_for_task(browser)
    assert Assignment.objects.get(pk=assignment_id, labeler=erin.user).task == helpful_task

    # The link works once.
    browser.delete_all_cookies()
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Invite link not valid"
    assert "may have expired, been used or been revoked" in browser.find_element(By.CSS_SELECTOR, "main").text
    assert "Helpfulness" not in browser.page_source and not browser.find_elements(By.NAME, "password1")

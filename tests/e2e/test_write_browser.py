"""The demonstration editor in a real browser: a draft survives a reload, Ctrl+Enter submits it once,
Esc skips with a reason. Run: ``pytest -m e2e tests/e2e/test_write_browser.py``."""
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from labeling.models import Demonstration, DemonstrationAssignment
from tests.conftest import PASSWORD
from tests.labeling.demonstration_helpers import make_demonstration_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WAIT_S = 45


def open_editor(browser, live_server, user):
    browser.get(f"{live_server.url}/accounts/login/?next=/write/")
    browser.find_element(By.NAME, "username").send_keys(user.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_ready(browser)


def wait_ready(browser):
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#writer.is-ready"))


def ctrl_enter(browser):
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()


def test_a_draft_survives_a_reload_and_ctrl_enter_submits_it(browser, live_server, labeler):
    make_demonstration_task(prompt_text="Name a fruit.")
    open_editor(browser, live_server, labeler)
    assert "Name a fruit." in browser.find_element(By.ID, "prompt-text").text
    browser.find_element(By.ID, "writer-text").send_keys("An **apple**.")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#writer-preview strong"))  # the server's Markdown
    assert browser.find_element(By.CSS_SELECTOR, "#writer-preview strong").text == "apple"
    submission_id = browser.execute_script(
        "var k = Object.keys(localStorage).find(k => k.indexOf('rlhf-writer:') === 0);"
        "return JSON.parse(localStorage.getItem(k)).submissionId;")

    browser.refresh()
    wait_ready(browser)
    assert browser.find_element(By.ID, "writer-text").get_attribute("value") == "An **apple**."
    assert "13 characters" in browser.find_element(By.ID, "writer-count").text

    ctrl_enter(browser)
    WebDriverWait(browser, WAIT_S).until(lambda d: "Nothing to write" in d.page_source)
    demonstration = Demonstration.objects.get()
    assert demonstration.text == "An **apple**." and demonstration.submission_id == submission_id
    assert demonstration.seconds is not None and demonstration.seconds > 0
    assert browser.execute_script(
        "return Object.keys(localStorage).filter(k => k.indexOf('rlhf-writer:') === 0).length;") == 0


def test_a_short_answer_is_stopped_on_the_page(browser, live_server, labeler):
    task = make_demonstration_task()
    task.prompt.project.demonstration_min_chars = 20
    task.prompt.project.save()
    open_editor(browser, live_server, labeler)
    browser.find_element(By.ID, "writer-text").send_keys("Too short.")
    ctrl_enter(browser)
    alert = browser.find_element(By.ID, "writer-alert")
    assert alert.is_displayed() and "at least 20" in alert.text
    assert not Demonstration.objects.exists()


def test_esc_skips_with_a_reason(browser, live_server, labeler):
    make_demonstration_task()
    open_editor(browser, live_server, labeler)
    browser.find_element(By.ID, "writer-text").send_keys(Keys.ESCAPE)
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "skip-dialog").is_displayed())
    browser.find_element(By.ID, "skip-reason").send_keys("Outside my expertise")
    ctrl_enter(browser)
    WebDriverWait(browser, WAIT_S).until(lambda d: "Nothing to write" in d.page_source)
    assert DemonstrationAssignment.objects.get().status == "skipped"

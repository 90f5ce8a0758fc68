"""The labeler page in a real browser: keyboard-only ranking, drag and drop, reload safety, escaping.

Run: ``pytest -m e2e tests/e2e/test_label_browser.py``. With ``SCREENSHOT_DIR`` set, the screenshot
test writes ``labeler-page.png`` there (``scripts/screenshot_labeler.py`` does that for the docs).
"""
import os
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from labeling.models import Assignment, Project, Prompt, Ranking
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCRIPT_TEXT = "<script>alert(1)</script>"
WAIT_S = 45  # generous: CI machines are shared and the JS retries with backoff


# ---------- helpers ----------


def log_in(browser, live_server, user):
    browser.get(f"{live_server.url}/accounts/login/?next=/label/")
    browser.find_element(By.NAME, "username").send_keys(user.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_task(browser)


def wait_for_task(browser, *, not_assignment=None):
    """Wait until the labeler page has loaded (a different assignment than ``not_assignment``)."""

    def ready(driver):
        try:
            root = driver.find_element(By.CSS_SELECTOR, "#labeler.is-ready")
            return root.get_attribute("data-assignment-id") != not_assignment and root
        except Exception:  # not there yet, or the page is being replaced
            return False

    try:
        return WebDriverWait(browser, WAIT_S).until(ready).get_attribute("data-assignment-id")
    except Exception:
        status = browser.execute_script(
            "var s = document.getElementById('labeler-status'), a = document.getElementById('labeler-alert');"
            "return [location.href, s && s.textContent, a && a.textContent, document.title];")
        try:
            logs = browser.get_log("browser")
        except Exception:  # noqa: BLE001 - console logs are a bonus in a failure message
            logs = []
        raise AssertionError(f"no new task page: url, status, alert, title = {status}; console: {logs}") from None


def card_order(browser) -> list[int]:
    # Read in one script call: element handles would go stale while the page re-renders the list.
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#cards > li'), li => Number(li.dataset.cardId));")


def card(browser, cid: int):
    return browser.find_element(By.ID, f"card-{cid}")


def active_card_id(browser) -> int:
    return int(browser.execute_script("return document.activeElement.dataset.cardId || 0"))


def press(browser, *keys):
    """Type keys into whatever has focus, like a person would (no clicks)."""
    ActionChains(browser).send_keys(*keys).perform()


def chord(browser, modifier, key):
    ActionChains(browser).key_down(modifier).send_keys(key).key_up(modifier).perform()


def wait_for_ranking(task, labeler) -> Ranking:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        ranking = Ranking.objects.filter(task=task, labeler=labeler).first()
        if ranking is not None:
            return ranking
        time.sleep(0.1)
    raise AssertionError(f"no ranking of task {task.pk} was stored")


def assert_no_script_errors(browser):
    """Nothing went wrong in the page's JavaScript (a missing favicon is not the page's fault)."""
    errors = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
    assert errors == []


def assert_no_alert(browser):
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - raises when no alert is open


def drag(browser, handle, target, *, steps: int = 5):
    """Drag by ``handle`` to just inside the top edge of ``target``, in small steps, as a hand would.

    Offsets are relative moves computed up front: the cards shift under the pointer while it moves.
    """
    start = handle.rect
    start_y = start["y"] + start["height"] / 2
    distance = target.rect["y"] + 12 - start_y
    chain = ActionChains(browser, duration=40)
    chain.click_and_hold(handle).pause(0.2)
    moved = 0
    for step in range(1, steps + 1):
        delta = round(distance * step / steps) - moved
        chain.move_by_offset(0, delta).pause(0.15)
        moved += delta
    chain.pause(0.2).release().perform()


# ---------- tests ----------


def test_rank_by_keyboard_then_by_drag_and_drop(browser, live_server, labeler, task_factory):
    keyboard_task = task_factory(
        k=4,
        prompt_text="Which answer is best?\nSecond line of the prompt <b>not bold</b>",
        texts=["First answer\nwith a second line", SCRIPT_TEXT, "Third answer", "Fourth answer"],
    )
    drag_task = task_factory(k=3, texts=["Drag one", "Drag two", "Drag three"])

    log_in(browser, live_server, labeler)
    first_assignment = Assignment.objects.get(task=keyboard_task, labeler=labeler)
    a, b, c, d = card_order(browser)
    assert [a, b, c, d] == first_assignment.display_order

    # Untrusted text shows as literal text and nothing ran.
    script_card = keyboard_task.completions.get(text=SCRIPT_TEXT).pk
    assert card(browser, script_card).find_element(By.CSS_SELECTOR, ".card-text").text == SCRIPT_TEXT
    assert "<b>not bold</b>" in browser.find_element(By.ID, "prompt-text").text
    assert browser.execute_script("return document.querySelectorAll('#labeler script, #labeler b').length") == 0
    assert_no_alert(browser)

    # Keyboard only, from the card the page focused on load.
    assert active_card_id(browser) == a
    press(browser, "j")  # focus b
    assert active_card_id(browser) == b
    press(browser, "1")  # b to rank 1: b a c d
    assert card_order(browser) == [b, a, c, d]
    assert active_card_id(browser) == b
    press(browser, "j", "j")  # focus c
    assert active_card_id(browser) == c
    press(browser, "t")  # c tied with a
    chord(browser, Keys.SHIFT, "5")  # c scores 5
    press(browser, "f")  # c's flags open, focus inside them
    press(browser, "2")  # hallucination
    press(browser, Keys.ESCAPE)  # back to the card
    assert active_card_id(browser) == c
    assert "is-tied" in card(browser, c).get_attribute("class")
    assert card(browser, c).find_element(By.CSS_SELECTOR, ".score-btn[aria-pressed=true]").text == "5"

    # A reload keeps the work.
    browser.refresh()
    assert wait_for_task(browser) == str(first_assignment.pk)
    assert card_order(browser) == [b, a, c, d]
    assert "is-tied" in card(browser, c).get_attribute("class")
    assert card(browser, c).find_element(By.CSS_SELECTOR, ".flag-input[value=hallucination]").is_selected()
    assert active_card_id(browser) == b

    press(browser, Keys.END)  # focus d
    press(browser, "2")  # d to rank 2: b d a=c
    assert card_order(browser) == [b, d, a, c]
    chord(browser, Keys.SHIFT, "7")
    press(browser, "c")  # comment box
    press(browser, "Checked by keyboard")
    assert browser.find_element(By.ID, "ranking-summary").text.split() == ["B", ">", "D", ">", "A", "=", "C"]
    # A double submit must not store twice: Ctrl held, Enter pressed twice. (Two separate chords
    # could let the second land on the next task, which then counts as that task's own submit.)
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).send_keys(Keys.ENTER).key_up(
        Keys.CONTROL).perform()

    second_assignment_id = wait_for_task(browser, not_assignment=str(first_assignment.pk))
    ranking = wait_for_ranking(keyboard_task, labeler)
    assert ranking.tiers == [[b], [d], [a, c]]
    assert ranking.scores == {str(c): 5, str(d): 7}
    assert ranking.flags == {str(c): ["hallucination"]}
    assert ranking.comment == "Checked by keyboard"
    assert ranking.seconds > 0
    assert Ranking.objects.filter(labeler=labeler).count() == 1

    # Second task, by mouse: drag the last card to the top, tie the bottom two, click Submit.
    assert second_assignment_id == str(Assignment.objects.get(task=drag_task, labeler=labeler).pk)
    x, y, z = card_order(browser)
    handle = lambda cid: card(browser, cid).find_element(By.CSS_SELECTOR, ".card-handle")  # noqa: E731
    drag(browser, handle(z), card(browser, x))
    WebDriverWait(browser, WAIT_S).until(lambda driver: card_order(driver) == [z, x, y])
    card(browser, y).find_element(By.CSS_SELECTOR, ".tie-toggle").click()
    assert browser.find_element(By.ID, "ranking-summary").text.split() == ["C", ">", "A", "=", "B"]
    browser.find_element(By.ID, "submit-btn").click()

    WebDriverWait(browser, WAIT_S).until(lambda driver: "Nothing to rank" in driver.page_source)
    assert wait_for_ranking(drag_task, labeler).tiers == [[z], [x, y]]
    assert Ranking.objects.filter(labeler=labeler).count() == 2
    assert_no_script_errors(browser)


def test_a_submit_chord_whose_ctrl_was_held_from_the_previous_page_or_repeats_is_ignored(
        browser, live_server, labeler, task_factory):
    """Holding Ctrl across the load of the next task, or a held Enter's auto-repeat, must not submit
    the new task unseen; a fresh Ctrl+Enter does."""
    task = task_factory(k=2)
    log_in(browser, live_server, labeler)
    enter = "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', arguments[0]));"
    browser.execute_script(enter, {"key": "Enter", "ctrlKey": True, "bubbles": True, "cancelable": True})
    browser.execute_script(enter, {"key": "Control", "ctrlKey": True, "bubbles": True})
    browser.execute_script(enter, {"key": "Enter", "ctrlKey": True, "repeat": True, "bubbles": True,
                                   "cancelable": True})
    time.sleep(0.5)
    assert not Ranking.objects.filter(task=task).exists()
    assert browser.find_element(By.ID, "submit-btn").get_attribute("disabled") is None
    chord(browser, Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(lambda driver: "Nothing to rank" in driver.page_source)
    assert wait_for_ranking(task, labeler).tiers
    assert_no_script_errors(browser)


def test_submit_survives_a_network_outage(browser, live_server, labeler, task_factory):
    """Offline at submit time: the page retries with the same submission id and gets through."""
    task = task_factory(k=2)
    log_in(browser, live_server, labeler)
    first, second = card_order(browser)
    press(browser, Keys.ARROW_DOWN)
    chord(browser, Keys.SHIFT, Keys.ARROW_UP)  # move it up one
    assert card_order(browser) == [second, first]

    browser.set_network_conditions(offline=True, latency=0, download_throughput=-1, upload_throughput=-1)
    chord(browser, Keys.CONTROL, Keys.ENTER)
    status = browser.find_element(By.ID, "labeler-status")
    WebDriverWait(browser, WAIT_S).until(lambda driver: "Retrying" in status.text)
    assert not Ranking.objects.filter(task=task).exists()
    assert browser.find_element(By.ID, "submit-btn").get_attribute("disabled") is not None
    browser.delete_network_conditions()

    WebDriverWait(browser, WAIT_S).until(lambda driver: "Nothing to rank" in driver.page_source)
    assert wait_for_ranking(task, labeler).tiers == [[second], [first]]
    stored = browser.execute_script("return Object.keys(localStorage).filter(k => k.startsWith('rlhf-labeler'))")
    assert stored == []


def test_server_refusal_is_shown_and_work_kept(browser, live_server, labeler, task_factory):
    """A 4xx (here: the lease expired) shows its message; the ranking stays on the page."""
    task = task_factory(k=3)
    log_in(browser, live_server, labeler)
    order = card_order(browser)
    press(browser, Keys.END, "1")
    Assignment.objects.filter(task=task, labeler=labeler).update(expires_at="2000-01-01T00:00:00Z")

    chord(browser, Keys.CONTROL, Keys.ENTER)
    alert = browser.find_element(By.ID, "labeler-alert")
    WebDriverWait(browser, WAIT_S).until(lambda driver: alert.is_displayed())
    assert "expired" in alert.text
    assert card_order(browser) == [order[2], order[0], order[1]]
    assert browser.find_element(By.ID, "submit-btn").get_attribute("disabled") is None
    assert not Ranking.objects.filter(task=task).exists()


def test_skip_with_a_reason(browser, live_server, labeler, task_factory):
    task = task_factory(k=2)
    log_in(browser, live_server, labeler)
    press(browser, "s")
    dialog = browser.find_element(By.ID, "skip-dialog")
    assert dialog.is_displayed()
    press(browser, "2", Keys.ENTER)  # second reason, confirm
    WebDriverWait(browser, WAIT_S).until(lambda driver: "Nothing to rank" in driver.page_source)
    assert task.skips.get(labeler=labeler).reason == "expertise"


def test_a_projects_own_flags_and_reasons_by_keyboard(browser, live_server, labeler, task_factory):
    """Number keys pick the project's flags and skip reasons by their place in its lists; where the
    project asks for no scores there is no score control and Shift+digit scores nothing."""
    tone = Project.objects.create(slug="tone", name="Tone", open_to_all=True, ask_scores=False,
                                  flags=[["tone", "Wrong tone"], ["long", "Too long"]],
                                  skip_reasons=[["offtopic", "Off topic"], ["dup", "Duplicate"]])
    ranked, skipped = task_factory(k=2), task_factory(k=2)
    Prompt.objects.filter(pk__in=[ranked.prompt_id, skipped.prompt_id]).update(project=tone)
    log_in(browser, live_server, labeler)
    first_assignment = browser.find_element(By.ID, "labeler").get_attribute("data-assignment-id")
    assert browser.find_elements(By.CSS_SELECTOR, ".score-btn") == []
    flagged = active_card_id(browser)
    press(browser, "f", "2", Keys.ESCAPE)  # the project's second flag
    chord(browser, Keys.SHIFT, "5")  # no scores here: nothing to set
    chord(browser, Keys.CONTROL, Keys.ENTER)
    wait_for_task(browser, not_assignment=first_assignment)
    ranking = wait_for_ranking(ranked, labeler)
    assert ranking.flags == {str(flagged): ["long"]} and ranking.scores == {}
    press(browser, "s")
    press(browser, "2", Keys.ENTER)  # the project's second reason, confirm
    WebDriverWait(browser, WAIT_S).until(lambda driver: "Nothing to rank" in driver.page_source)
    assert skipped.skips.get(labeler=labeler).reason == "dup"
    assert_no_script_errors(browser)


MARKDOWN_QUESTION = ("Compare these:\n\n| lang | typing |\n|------|--------|\n| Python | dynamic |\n\n"
                     "```python\nprint(\"<b>hi</b>\")\n```")


def test_a_conversation_renders_as_markdown_turns_and_keys_still_rank(browser, live_server, labeler, task_factory):
    """Roles in order, the long system prompt folded, a table and a code block rendered, the raw toggle
    showing the exact text, and the toggles leave the ranking and its keys alone."""
    task = task_factory(k=3, texts=["Use **sorted**:\n\n```python\nsorted(xs)\n```", "- one\n- two", "Plain answer"])
    messages = [{"role": "system", "content": "Rules:\n" + "\n".join(f"{n}. rule {n}" for n in range(1, 8))},
                {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! *Ask away.*"},
                {"role": "user", "content": MARKDOWN_QUESTION}]
    task.prompt.messages = messages
    task.prompt.save(update_fields=["messages"])
    log_in(browser, live_server, labeler)
    a, b, c = card_order(browser)

    roles = browser.execute_script(
        "return Array.from(document.querySelectorAll('#prompt-text .turn .turn-role'), e => e.textContent);")
    assert roles == ["System", "User", "Assistant", "User"]
    fold = browser.find_element(By.CSS_SELECTOR, "#prompt-text .turn-system details")
    assert fold.get_attribute("open") is None
    assert not fold.find_element(By.CSS_SELECTOR, ".md").is_displayed()
    last = browser.find_elements(By.CSS_SELECTOR, "#prompt-text .turn-user")[-1]
    assert last.find_element(By.CSS_SELECTOR, ".md table td").text == "Python"
    assert last.find_element(By.CSS_SELECTOR, ".md pre code").text == 'print("<b>hi</b>")'
    assert browser.execute_script(
        "return document.querySelectorAll('#prompt-text table, #prompt-text pre code').length") == 2
    assert browser.execute_script(
        "return [document.querySelectorAll('#cards .card-text pre code').length,"
        " document.querySelectorAll('#cards .card-text li').length]") == [1, 2]
    assert browser.execute_script("return document.querySelectorAll('#labeler script, #labeler b').length") == 0

    # The raw toggle swaps in the exact text, and back; the ranking is untouched.
    toggle = last.find_element(By.CSS_SELECTOR, ".raw-toggle")
    raw = last.find_element(By.CSS_SELECTOR, ".text-raw")
    assert toggle.is_displayed() and not raw.is_displayed()
    toggle.click()
    assert raw.is_displayed() and not last.find_element(By.CSS_SELECTOR, ".md").is_displayed()
    assert browser.execute_script("return arguments[0].textContent", raw) == MARKDOWN_QUESTION
    assert toggle.get_attribute("aria-pressed") == "true"
    assert card_order(browser) == [a, b, c]

    # Keys work with the toggle focused: j moves on from the active card, digits rank.
    press(browser, "j")  # focus b
    assert active_card_id(browser) == b
    press(browser, "1")  # b a c
    card(browser, c).find_element(By.CSS_SELECTOR, ".raw-toggle").click()  # c's raw text; c becomes active
    assert card(browser, c).find_element(By.CSS_SELECTOR, ".text-raw").is_displayed()
    press(browser, "1")  # c to the top: c b a
    assert card_order(browser) == [c, b, a]
    toggle.click()
    assert not raw.is_displayed() and toggle.get_attribute("aria-pressed") == "false"
    assert card_order(browser) == [c, b, a]
    chord(browser, Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(lambda driver: "Nothing to rank" in driver.page_source)
    assert wait_for_ranking(task, labeler).tiers == [[c], [b], [a]]
    assert_no_script_errors(browser)


@pytest.mark.skipif(not os.environ.get("SCREENSHOT_DIR"), reason="set SCREENSHOT_DIR to write the docs screenshot")
def test_screenshot(browser, live_server, labeler, task_factory):
    task_factory(
        k=4,
        prompt_text="Explain to a curious ten-year-old why the sky is blue. Keep it to three sentences.",
        texts=[
            "Sunlight is made of all the colours mixed together. When it hits the air, the tiny gas "
            "molecules bounce blue light around much more than red light, so blue comes at you from "
            "every direction. That scattered blue light is what you see when you look up.",
            "The sky is blue because it reflects the ocean.",
            "Light from the Sun is a mix of colours.\nAir scatters the short, blue waves the most.\n"
            "So wherever you look in the sky, blue light is reaching your eyes.",
            "Because of Rayleigh scattering, whose intensity is proportional to the inverse fourth power "
            "of the wavelength (I ∝ 1/λ⁴).",
        ],
    )
    log_in(browser, live_server, labeler)
    a, b, c, d = card_order(browser)
    by_text = {card(browser, cid).find_element(By.CSS_SELECTOR, ".card-text").text[:12]: cid for cid in (a, b, c, d)}
    best, ocean, lines, jargon = (by_text[key] for key in ("Sunlight is ", "The sky is b", "Light from t", "Because of R"))
    for cid, rank in ((best, "1"), (lines, "2"), (jargon, "3"), (ocean, "4")):
        card(browser, cid).click()
        press(browser, rank)
    card(browser, lines).click()
    press(browser, "t")
    for cid, score in ((best, "7"), (lines, "6"), (jargon, "4"), (ocean, "1")):
        card(browser, cid).click()
        chord(browser, Keys.SHIFT, score)
    card(browser, ocean).click()
    press(browser, "f", "2", Keys.ESCAPE)
    card(browser, jargon).click()  # the focus ring shows on a card in the middle
    browser.execute_script("window.scrollTo(0, 0)")

    # Lay the viewport out at the page's full height so the PNG holds the whole page, no scrollbar.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}
    )
    time.sleep(0.3)
    out = Path(os.environ["SCREENSHOT_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(out / "labeler-page.png"))

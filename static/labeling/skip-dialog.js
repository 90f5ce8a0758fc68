/* The labeler page, part 8 of 9: the "Skip this task?" dialog. Number keys choose a reason,
 * Ctrl+Enter or the button sends it, Escape or Cancel closes it and returns to the cards.
 */
(function (ns) {
  "use strict";

  var Submit = ns.Submit;
  var Keyboard = ns.Keyboard;

  /* Wire the dialog and the page's Skip button; returns {open, isOpen}. page is the controller
   * label.js builds (fields activeId, finished, submitting; actions focusCard, done). */
  function init(page, skipUrl, skipDialog, skipForm, skipError, skipButton) {
    function open() {
      if (page.submitting || page.finished) return;
      skipError.hidden = true;
      skipError.textContent = "";
      if (typeof skipDialog.showModal === "function") skipDialog.showModal();
      else skipDialog.setAttribute("open", "");
      var checked = skipForm.querySelector("input[name=reason]:checked");
      (checked || skipForm.querySelector("input[name=reason]")).focus();
    }

    function close() {
      if (typeof skipDialog.close === "function") skipDialog.close();
      else skipDialog.removeAttribute("open");
      page.focusCard(page.activeId);
    }

    function send() {
      var reason = skipForm.querySelector("input[name=reason]:checked");
      if (!reason) {
        skipError.textContent = "Choose a reason for skipping.";
        skipError.hidden = false;
        return;
      }
      var confirmButton = skipForm.querySelector(".skip-confirm");
      confirmButton.disabled = true;
      Submit.skipOnce(skipUrl, { reason: reason.value, note: skipForm.elements.note.value }, {
        done: function (nextUrl) {
          page.done(nextUrl, "Skipped. Loading the next task…");
        },
        failed: function (message) {
          confirmButton.disabled = false;
          skipError.textContent = message;
          skipError.hidden = false;
        },
      });
    }

    skipForm.addEventListener("submit", function (event) {
      event.preventDefault();
      send();
    });
    skipForm.querySelector(".skip-cancel").addEventListener("click", close);
    skipDialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      close();
    });
    skipDialog.addEventListener("keydown", function (event) {
      var reasons = skipForm.querySelectorAll("input[name=reason]");
      var digit = Keyboard.digitOf(event);
      if (event.target.tagName !== "TEXTAREA" && digit >= 1 && digit <= reasons.length && !event.shiftKey) {
        event.preventDefault();
        reasons[digit - 1].checked = true;
        reasons[digit - 1].focus();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        send();
      }
      event.stopPropagation();
    });
    skipButton.addEventListener("click", open);

    return {
      open: open,
      isOpen: function () {
        return skipDialog.open;
      },
    };
  }

  ns.SkipDialog = { init: init };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

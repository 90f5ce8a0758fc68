/* The labeler page, part 6 of 9: the keyboard. The keys are listed in the page's "Keyboard"
 * aside (templates/labeling/label.html); keep the two in step.
 */
(function (ns) {
  "use strict";

  var Ranking = ns.Ranking;

  /* The digit a key press stands for, or -1. */
  function digitOf(event) {
    // event.code keeps the digit under Shift on every layout ("!" on US, "1" on AZERTY...).
    var match = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
    if (match) return Number(match[1]);
    if (/^[0-9]$/.test(event.key)) return Number(event.key);
    var shifted = ")!@#$%^&*(".indexOf(event.key);
    return shifted === -1 ? -1 : shifted;
  }

  /* The document keydown handler. page is the controller label.js builds: it has the fields
   * state, K, activeId, finished, submitting, asksScores and hasFlags, and the actions used below.
   * A submit chord counts only when its Ctrl (or Cmd) went down on this page, and never as a held
   * key's auto-repeat: holding Ctrl and pressing Enter twice, or a second press that lands after the
   * next task has loaded, must not submit that task unseen in the order it was shown. */
  function createHandler(page) {
    var modifierDownHere = false;
    return function onKeydown(event) {
      if (event.key === "Control" || event.key === "Meta") modifierDownHere = true;
      if (page.finished || event.defaultPrevented) return;
      var target = event.target;
      var isSubmitChord = event.key === "Enter" && (event.ctrlKey || event.metaKey);
      if (isSubmitChord) {
        event.preventDefault();
        if (modifierDownHere && !event.repeat) page.submitRanking();
        return;
      }
      if (page.skipOpen()) return;

      var flagPanel = target.closest && target.closest(".card-flags");
      if (flagPanel) {
        onFlagPanelKey(event, flagPanel);
        return;
      }

      var typing = target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox");
      if (typing) {
        if (event.key === "Escape") {
          event.preventDefault();
          target.blur();
          page.focusCard(page.activeId);
        }
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;

      var cardEl = target.closest && target.closest(".rank-card");
      if (cardEl) page.activeId = Number(cardEl.dataset.cardId);
      var order = page.state.order;
      var K = page.K;
      var activeId = page.activeId;
      var index = order.indexOf(activeId);
      var key = event.key;
      var digit = digitOf(event);
      var handled = true;

      if (page.submitting && key !== "ArrowDown" && key !== "ArrowUp" && key !== "j" && key !== "k") {
        return; // the ranking being sent must match what is on screen
      }
      if ((key === "ArrowDown" || key === "ArrowUp") && event.shiftKey) {
        if (page.moveCard(activeId, index + (key === "ArrowDown" ? 1 : -1))) page.focusCard(activeId);
      } else if (key === "ArrowDown" || key === "j") {
        page.focusCard(order[Math.min(K - 1, index + 1)]);
      } else if (key === "ArrowUp" || key === "k") {
        page.focusCard(order[Math.max(0, index - 1)]);
      } else if (key === "Home" || key === "End") {
        page.focusCard(order[key === "Home" ? 0 : K - 1]);
      } else if (event.shiftKey && digit >= 0 && digit <= Ranking.SCORE_MAX) {
        if (page.asksScores) page.setScore(activeId, digit);
        else page.announce("This project does not ask for scores.");
      } else if (!event.shiftKey && digit >= 1 && digit <= 9) {
        if (digit > K) {
          page.announce("There are only " + K + " responses.");
        } else {
          page.moveCard(activeId, digit - 1);
          page.focusCard(activeId);
        }
      } else if (key === "t" || key === "T") {
        page.toggleTie(activeId);
      } else if (key === "f" || key === "F") {
        if (page.hasFlags) page.openFlags(activeId);
        else page.announce("This project has no flags.");
      } else if (key === "s" || key === "S") {
        page.openSkip();
      } else if (key === "c" || key === "C") {
        page.focusComment();
      } else {
        handled = false;
      }
      if (handled) event.preventDefault();
    };

    /* Inside an open flags panel: digits toggle flags; Escape, F or Enter close it. */
    function onFlagPanelKey(event, flagPanel) {
      var flagCard = Number(flagPanel.closest(".rank-card").dataset.cardId);
      var inputs = flagPanel.querySelectorAll(".flag-input");
      var n = digitOf(event);
      if (n >= 1 && n <= inputs.length && !event.shiftKey && !event.ctrlKey && !event.altKey && !page.submitting) {
        event.preventDefault();
        inputs[n - 1].checked = !inputs[n - 1].checked;
        page.setFlag(flagCard, inputs[n - 1].value, inputs[n - 1].checked);
        page.announce(inputs[n - 1].dataset.label + (inputs[n - 1].checked ? " flagged." : " unflagged."));
      } else if (event.key === "Escape" || event.key === "f" || event.key === "Enter") {
        event.preventDefault();
        page.closeFlags(flagCard, true);
      }
    }
  }

  ns.Keyboard = { digitOf: digitOf, createHandler: createHandler };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

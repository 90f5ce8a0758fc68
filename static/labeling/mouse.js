/* The labeler page, part 7 of 9: the mouse and touch. Clicks on a card's tools, flag checkboxes,
 * focus following the pointer, and drag and drop by the rank handle (SortableJS, when loaded).
 */
(function (ns) {
  "use strict";

  /* Wire the card list; returns the Sortable instance, or null without SortableJS. page is the
   * controller label.js builds (fields activeId, submitting; actions setScore, toggleTie, setFlag,
   * moveCard, focusCard, closeFlags, render); view is the CardView. */
  function init(page, list, view) {
    list.addEventListener("click", function (event) {
      var card = event.target.closest(".rank-card");
      if (!card) return;
      var id = Number(card.dataset.cardId);
      page.activeId = id;
      var scoreButton = event.target.closest(".score-btn");
      var tieButton = event.target.closest(".tie-toggle");
      var flagButton = event.target.closest(".flag-toggle");
      if (page.submitting && (scoreButton || tieButton)) return;
      if (scoreButton) {
        page.setScore(id, Number(scoreButton.dataset.score));
      } else if (tieButton) {
        page.toggleTie(id);
      } else if (flagButton) {
        if (!view.flagsOpen(id)) view.openFlags(id);
        else page.closeFlags(id, false);
      } else if (!event.target.closest("input, label, button, a") && !window.getSelection().toString()) {
        page.focusCard(id);
      } else {
        page.render();
      }
    });

    list.addEventListener("change", function (event) {
      var input = event.target.closest(".flag-input");
      if (!input) return;
      if (page.submitting) {
        input.checked = !input.checked; // the ranking being sent must match what is on screen
        return;
      }
      page.setFlag(Number(input.closest(".rank-card").dataset.cardId), input.value, input.checked);
    });

    list.addEventListener("focusin", function (event) {
      var card = event.target.closest(".rank-card");
      if (card && Number(card.dataset.cardId) !== page.activeId) {
        page.activeId = Number(card.dataset.cardId);
        page.render();
      }
    });

    if (!window.Sortable) return null;
    return window.Sortable.create(list, {
      draggable: ".rank-card",
      handle: ".card-handle",
      // The fallback drags with pointer events rather than native HTML5 drag and drop: the same
      // on every browser, on touch screens, and under WebDriver's synthetic pointer.
      forceFallback: true,
      fallbackTolerance: 3,
      animation: 150,
      ghostClass: "card-ghost",
      chosenClass: "card-chosen",
      dragClass: "card-drag",
      onEnd: function (event) {
        var id = Number(event.item.dataset.cardId);
        page.activeId = id;
        if (event.oldIndex === event.newIndex) {
          page.render();
          return;
        }
        // Sortable already moved the node; put it back so state stays the one source of order.
        page.moveCard(id, event.newIndex);
        page.focusCard(id);
      },
    });
  }

  ns.Mouse = { init: init };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

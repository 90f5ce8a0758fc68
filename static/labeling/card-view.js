/* The labeler page, part 5 of 9: the cards on screen. Reads the cards the server rendered and
 * redraws them from the state: order, tie marks, scores, flags, screen-reader status and the
 * ranking summary. Untrusted text is only ever set with textContent.
 */
(function (ns) {
  "use strict";

  var Ranking = ns.Ranking;

  /* The view of the <ol> of .rank-card items; summaryOutput shows the ranking as "A > B = C". */
  function create(list, summaryOutput) {
    var cardsById = {};
    var serverOrder = [];
    Array.prototype.forEach.call(list.querySelectorAll(".rank-card"), function (card) {
      var id = Number(card.dataset.cardId);
      cardsById[id] = card;
      serverOrder.push(id);
    });
    var K = serverOrder.length;
    // The project decides whether scores are asked for and which flags exist; the server renders
    // the controls only when they are.
    var asksScores = !!list.querySelector(".score-btn");
    var hasFlags = !!list.querySelector(".flag-input");

    function letterOf(id) {
      return cardsById[id].dataset.letter;
    }

    function render(state, activeId) {
      var groups = Ranking.tiers(state);
      var tierOf = {};
      groups.forEach(function (group, t) {
        group.forEach(function (id) {
          tierOf[id] = { index: t, size: group.length };
        });
      });

      state.order.forEach(function (id, index) {
        var card = cardsById[id];
        // Only touch the DOM where the order differs: moving a node blurs it.
        if (list.children[index] !== card) list.insertBefore(card, list.children[index] || null);

        var tied = !!state.tied[id];
        var inTie = tierOf[id].size > 1;
        var nextTied = !!state.tied[state.order[index + 1]];
        card.classList.toggle("is-tied", tied);
        card.classList.toggle("in-tie", inTie);
        card.classList.toggle("tie-start", inTie && !tied);
        card.classList.toggle("tie-end", inTie && !nextTied);
        card.classList.toggle("is-active", id === activeId);
        card.tabIndex = id === activeId ? 0 : -1;
        card.dataset.rank = String(index + 1);

        card.querySelector(".card-rank").textContent = String(index + 1);
        var tieBadge = card.querySelector(".tie-badge");
        tieBadge.hidden = !tied;
        if (tied) tieBadge.textContent = "= Tied with " + letterOf(state.order[index - 1]);
        var tieButton = card.querySelector(".tie-toggle");
        tieButton.setAttribute("aria-pressed", tied ? "true" : "false");
        tieButton.disabled = index === 0;

        var score = state.scores[id] || 0;
        Array.prototype.forEach.call(card.querySelectorAll(".score-btn"), function (button) {
          var on = Number(button.dataset.score) === score;
          button.setAttribute("aria-pressed", on ? "true" : "false");
        });

        var flags = state.flags[id] || [];
        var chips = card.querySelector(".flag-chips");
        chips.textContent = "";
        Array.prototype.forEach.call(card.querySelectorAll(".flag-input"), function (input) {
          input.checked = flags.indexOf(input.value) !== -1;
          if (input.checked) {
            var chip = document.createElement("span");
            chip.className = "flag-chip";
            chip.textContent = input.dataset.label;
            chips.appendChild(chip);
          }
        });
        var flagButton = card.querySelector(".flag-toggle");
        if (flagButton) flagButton.querySelector(".flag-count").textContent = flags.length ? " (" + flags.length + ")" : "";
        card.classList.toggle("is-flagged", flags.length > 0);

        var status = "Rank " + (index + 1) + " of " + K + ": response " + letterOf(id) + ".";
        if (tied) status += " Tied with response " + letterOf(state.order[index - 1]) + ".";
        if (asksScores) status += score ? " Score " + score + " of " + Ranking.SCORE_MAX + "." : " No score.";
        if (flags.length) status += " " + flags.length + (flags.length === 1 ? " flag." : " flags.");
        card.querySelector(".card-status").textContent = status;
      });

      summaryOutput.textContent = groups
        .map(function (group) {
          return group.map(letterOf).join(" = ");
        })
        .join("  >  ");
    }

    function flash(id) {
      var card = cardsById[id];
      card.classList.remove("flash");
      void card.offsetWidth; // restart the animation
      card.classList.add("flash");
    }

    function focus(id) {
      var card = cardsById[id];
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest", behavior: "auto" });
    }

    /* ---------- a card's flags panel ---------- */

    function flagsOpen(id) {
      return !cardsById[id].querySelector(".card-flags").hidden;
    }

    function openFlags(id) {
      var card = cardsById[id];
      var panel = card.querySelector(".card-flags");
      panel.hidden = false;
      card.querySelector(".flag-toggle").setAttribute("aria-expanded", "true");
      panel.querySelector(".flag-input").focus();
    }

    function closeFlags(id) {
      var card = cardsById[id];
      card.querySelector(".card-flags").hidden = true;
      card.querySelector(".flag-toggle").setAttribute("aria-expanded", "false");
    }

    return {
      K: K,
      serverOrder: serverOrder,
      asksScores: asksScores,
      hasFlags: hasFlags,
      letterOf: letterOf,
      render: render,
      flash: flash,
      focus: focus,
      flagsOpen: flagsOpen,
      openFlags: openFlags,
      closeFlags: closeFlags,
    };
  }

  ns.CardView = { create: create };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

/* The labeler page, part 1 of 9: the ranking rules. No DOM, no storage, no network.
 *
 * The state is one plain object:
 *   order        completion ids, best first
 *   tied         id -> true when tied with the card directly above it
 *   scores       id -> 1..SCORE_MAX
 *   flags        id -> [flag value, ...]
 *   comment      the labeler's free-text comment
 *   elapsedMs    time on screen banked so far (the running stretch lives in timer.js)
 *   submissionId made once per assignment; the server treats a repeat as the same submission
 *
 * Scripts load in this order (templates/labeling/label.html): ranking-state.js,
 * draft-storage.js, submit.js, timer.js, card-view.js, keyboard.js, mouse.js, skip-dialog.js,
 * label.js. Each adds one part to window.RlhfLabeler; label.js wires them to the page.
 */
(function (ns) {
  "use strict";

  var SCORE_MAX = 7;

  function newSubmissionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  /* A fresh state for the cards in the order the server sent them. */
  function create(serverOrder) {
    return {
      order: serverOrder.slice(),
      tied: {},
      scores: {},
      flags: {},
      comment: "",
      elapsedMs: 0,
      submissionId: newSubmissionId(),
    };
  }

  /* The order as groups of tied ids, best group first: [[3], [1, 4], [2]]. */
  function tiers(state) {
    var result = [];
    state.order.forEach(function (id, index) {
      if (index > 0 && state.tied[id]) result[result.length - 1].push(id);
      else result.push([id]);
    });
    return result;
  }

  /* The top card has nothing above it to tie with, and only true marks are kept. */
  function normalizeTies(state) {
    delete state.tied[state.order[0]];
    Object.keys(state.tied).forEach(function (id) {
      if (!state.tied[id]) delete state.tied[id];
    });
  }

  /* Move a card to a 0-based index; true when the order changed. Ties follow the cards, not the
   * slots: a card that leaves the head of a tie hands the head to the next member; a card dropped
   * between two tied cards joins their tie; otherwise a moved card arrives untied. */
  function moveCard(state, id, toIndex) {
    var from = state.order.indexOf(id);
    toIndex = Math.max(0, Math.min(state.order.length - 1, toIndex));
    if (from === -1 || from === toIndex) return false;
    var next = state.order[from + 1];
    if (next !== undefined && state.tied[next] && !state.tied[id]) delete state.tied[next];
    delete state.tied[id];
    state.order.splice(from, 1);
    state.order.splice(toIndex, 0, id);
    var below = state.order[toIndex + 1];
    if (toIndex > 0 && below !== undefined && state.tied[below]) state.tied[id] = true;
    normalizeTies(state);
    return true;
  }

  /* Tie a card with the one above it, or untie it; false (and no change) for the top card. */
  function toggleTie(state, id) {
    if (state.order.indexOf(id) <= 0) return false;
    if (state.tied[id]) delete state.tied[id];
    else state.tied[id] = true;
    return true;
  }

  /* Set a score; a falsy score, or the card's current score again, clears it. Returns the card's
   * score afterwards, 0 when it has none. */
  function setScore(state, id, score) {
    if (!score || state.scores[id] === score) {
      delete state.scores[id];
      return 0;
    }
    state.scores[id] = score;
    return score;
  }

  function setFlag(state, id, value, on) {
    var current = (state.flags[id] || []).filter(function (v) {
      return v !== value;
    });
    if (on) current.push(value);
    if (current.length) state.flags[id] = current;
    else delete state.flags[id];
  }

  /* The body of the submit request. */
  function toPayload(state, elapsedMs) {
    return {
      tiers: tiers(state),
      scores: state.scores,
      flags: state.flags,
      comment: state.comment,
      seconds: Math.round(elapsedMs / 100) / 10,
      submission_id: state.submissionId,
    };
  }

  ns.Ranking = {
    SCORE_MAX: SCORE_MAX,
    newSubmissionId: newSubmissionId,
    create: create,
    tiers: tiers,
    normalizeTies: normalizeTies,
    moveCard: moveCard,
    toggleTie: toggleTie,
    setScore: setScore,
    setFlag: setFlag,
    toPayload: toPayload,
  };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

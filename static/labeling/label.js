/* The labeler page, part 9 of 9: wires the parts to the DOM. Rank K completions best to worst,
 * ties allowed, keyboard first.
 *
 * State lives in one object (ranking-state.js) and is saved to localStorage under the assignment
 * id after every change (draft-storage.js), so a reload, a crash or a flaky network never loses
 * work. The submit carries a submission_id made once per assignment; the server treats a repeat
 * of it as the same submission, so retries after a network error are safe (submit.js).
 *
 * Untrusted text (prompt, completions, server messages) is only ever set with textContent.
 */
(function (ns) {
  "use strict";

  var root = document.getElementById("labeler");
  if (!root) return;

  var Ranking = ns.Ranking;
  var Drafts = ns.Drafts;
  var Submit = ns.Submit;
  var Timer = ns.Timer;

  var list = document.getElementById("cards");
  var submitButton = document.getElementById("submit-btn");
  var skipButton = document.getElementById("skip-btn");
  var commentBox = document.getElementById("comment");
  var alertBox = document.getElementById("labeler-alert");
  var statusLine = document.getElementById("labeler-status");
  var liveRegion = document.getElementById("labeler-live");
  var timerOutput = document.getElementById("labeler-timer");
  var leaseOutput = document.getElementById("labeler-lease");
  var summaryOutput = document.getElementById("ranking-summary");
  var skipDialog = document.getElementById("skip-dialog");
  var skipForm = document.getElementById("skip-form");
  var skipError = document.getElementById("skip-error");

  var submitUrl = root.dataset.submitUrl;
  var skipUrl = root.dataset.skipUrl;
  var expiresAt = root.dataset.expiresAt ? new Date(root.dataset.expiresAt) : null;
  var drafts = Drafts.open(root.dataset.assignmentId);

  var view = ns.CardView.create(list, summaryOutput);
  var letterOf = view.letterOf;
  var state = Ranking.create(view.serverOrder);

  /* The controller the keyboard and the skip dialog act through. */
  var page = {
    state: state,
    K: view.K,
    asksScores: view.asksScores, // the project's settings: without them, Shift+digit and F do nothing
    hasFlags: view.hasFlags,
    activeId: view.serverOrder[0],
    finished: false, // set once the server has the ranking or skip: stop saving
    submitting: false,
  };
  var clock = Timer.createClock(state, save);
  var sortable = null;

  /* ---------- messages ---------- */

  function announce(message) {
    // Clearing first makes screen readers repeat an identical message.
    liveRegion.textContent = "";
    window.setTimeout(function () {
      liveRegion.textContent = message;
    }, 30);
  }

  function showAlert(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function clearAlert() {
    alertBox.textContent = "";
    alertBox.hidden = true;
  }

  function setStatus(message) {
    statusLine.textContent = message;
  }

  /* ---------- changes to the ranking ---------- */

  function changed() {
    render();
    save();
  }

  function moveCard(id, toIndex) {
    if (!Ranking.moveCard(state, id, toIndex)) return false;
    var index = state.order.indexOf(id);
    var message = "Response " + letterOf(id) + " moved to rank " + (index + 1) + " of " + page.K + ".";
    if (state.tied[id]) message += " Tied with response " + letterOf(state.order[index - 1]) + ".";
    changed();
    announce(message);
    return true;
  }

  function toggleTie(id) {
    var index = state.order.indexOf(id);
    if (!Ranking.toggleTie(state, id)) {
      announce("The top response has no response above it to tie with.");
      view.flash(id);
      return;
    }
    changed();
    var above = letterOf(state.order[index - 1]);
    announce(
      state.tied[id]
        ? "Response " + letterOf(id) + " tied with response " + above + "."
        : "Response " + letterOf(id) + " no longer tied with response " + above + "."
    );
  }

  function setScore(id, score) {
    if (Ranking.setScore(state, id, score)) {
      announce("Response " + letterOf(id) + " scored " + score + " of " + Ranking.SCORE_MAX + ".");
    } else {
      announce("Score cleared for response " + letterOf(id) + ".");
    }
    changed();
  }

  function setFlag(id, value, on) {
    Ranking.setFlag(state, id, value, on);
    changed();
  }

  /* ---------- screen ---------- */

  function render() {
    view.render(state, page.activeId);
  }

  function focusCard(id) {
    if (id === undefined) return;
    page.activeId = id;
    render();
    view.focus(id);
  }

  function closeFlags(id, refocus) {
    view.closeFlags(id);
    if (refocus) focusCard(id);
  }

  /* ---------- persistence and time ---------- */

  function save() {
    if (page.finished) return;
    drafts.save(state, clock.elapsedMs());
  }

  function tick() {
    Timer.show(timerOutput, leaseOutput, clock.elapsedMs(), expiresAt);
  }

  clock.start();
  window.addEventListener("pagehide", save);

  /* ---------- submit ---------- */

  function setBusy(busy) {
    if (busy) root.setAttribute("aria-busy", "true");
    else root.removeAttribute("aria-busy");
    submitButton.disabled = busy;
    skipButton.disabled = busy;
    commentBox.readOnly = busy;
    if (sortable) sortable.option("disabled", busy);
  }

  function submitRanking() {
    if (page.submitting || page.finished) return;
    page.submitting = true;
    clearAlert();
    setBusy(true);
    save();
    var body = Ranking.toPayload(state, clock.elapsedMs());
    setStatus("Submitting…");
    Submit.sendWithRetry(submitUrl, body, {
      status: setStatus,
      accepted: function (nextUrl) {
        done(nextUrl, "Submitted. Loading the next task…");
      },
      refused: function (message, field) {
        page.submitting = false;
        setBusy(false);
        setStatus("");
        showAlert(message);
        if (field === "comment") commentBox.focus();
      },
    });
  }

  function done(nextUrl, message) {
    page.finished = true;
    drafts.forget();
    setStatus(message);
    announce(message);
    window.location.assign(nextUrl);
  }

  /* ---------- the controller, the skip dialog, the keyboard ---------- */

  page.announce = announce;
  page.moveCard = moveCard;
  page.toggleTie = toggleTie;
  page.setScore = setScore;
  page.setFlag = setFlag;
  page.focusCard = focusCard;
  page.openFlags = view.openFlags;
  page.closeFlags = closeFlags;
  page.focusComment = function () {
    commentBox.focus();
  };
  page.submitRanking = submitRanking;
  page.done = done;
  page.render = render;

  var skip = ns.SkipDialog.init(page, skipUrl, skipDialog, skipForm, skipError, skipButton);
  page.openSkip = skip.open;
  page.skipOpen = skip.isOpen;

  document.addEventListener("keydown", ns.Keyboard.createHandler(page));

  /* ---------- mouse, comment, submit button ---------- */

  sortable = ns.Mouse.init(page, list, view);

  commentBox.addEventListener("input", function () {
    state.comment = commentBox.value;
    save();
  });

  submitButton.addEventListener("click", submitRanking);

  /* ---------- start ---------- */

  drafts.pruneOthers();
  var restored = drafts.restore(state, view.serverOrder);
  if (!page.asksScores) state.scores = {}; // a draft from before the project stopped asking for scores
  page.activeId = state.order[0];
  commentBox.value = state.comment;
  render();
  save();
  tick();
  window.setInterval(function () {
    tick();
  }, 1000);
  window.setInterval(save, 5000);
  if (restored) setStatus("Restored your unsaved work on this task.");
  root.classList.add("is-ready");
  focusCard(page.activeId);
})((window.RlhfLabeler = window.RlhfLabeler || {}));

/* The demonstration editor (/write/): write or rewrite an answer to a prompt, keyboard first.
 *
 * The draft (text, time on task, submission id) is kept in localStorage under the assignment id
 * after every keystroke, so a reload or a crash loses nothing; it is dropped once the server has
 * the demonstration or the skip. The submission_id is made once per lease and kept in the draft:
 * a double submit or a retry after a network error is the same submission (submit.js). The
 * preview is the server's own sanitised Markdown (POST /write/preview), asked for once typing
 * pauses. Ctrl+Enter submits, Esc asks whether to skip. Server messages are set with textContent.
 */
(function (ns) {
  "use strict";

  var root = document.getElementById("writer");
  if (!root) return;

  var Submit = ns.Submit;
  var Timer = ns.Timer;
  var STORAGE_PREFIX = "rlhf-writer:v1:assignment:";
  var PREVIEW_DELAY_MS = 300;

  var textBox = document.getElementById("writer-text");
  var preview = document.getElementById("writer-preview");
  var countLine = document.getElementById("writer-count");
  var alertBox = document.getElementById("writer-alert");
  var statusLine = document.getElementById("writer-status");
  var submitButton = document.getElementById("submit-btn");
  var skipButton = document.getElementById("skip-btn");
  var skipDialog = document.getElementById("skip-dialog");
  var skipForm = document.getElementById("skip-form");
  var skipError = document.getElementById("skip-error");
  var timerOutput = document.getElementById("writer-timer");
  var leaseOutput = document.getElementById("writer-lease");

  var minChars = Number(root.dataset.minChars) || 1;
  var maxChars = Number(root.dataset.maxChars) || Infinity;
  var expiresAt = root.dataset.expiresAt ? new Date(root.dataset.expiresAt) : null;
  var draft = ns.Drafts.store(STORAGE_PREFIX, root.dataset.assignmentId);
  var state = { elapsedMs: 0, submissionId: "" };
  var finished = false;
  var submitting = false;
  var previewTimer = null;
  var previewAsked = 0;

  function newSubmissionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return "w-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  /* ---------- the draft ---------- */

  function save() {
    if (finished) return;
    draft.write({ text: textBox.value, elapsedMs: clock.elapsedMs(), submissionId: state.submissionId });
  }

  function restore() {
    var record = draft.read();
    if (!record || typeof record !== "object") return false;
    if (typeof record.text === "string") textBox.value = record.text;
    state.elapsedMs = Math.max(0, Number(record.elapsedMs) || 0);
    if (typeof record.submissionId === "string" && record.submissionId) state.submissionId = record.submissionId;
    return true;
  }

  /* ---------- screen ---------- */

  function showAlert(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function clearAlert() {
    alertBox.textContent = "";
    alertBox.hidden = true;
  }

  function length() {
    return textBox.value.trim().length; // the server counts the stripped text
  }

  function lengthProblem() {
    var n = length();
    if (n < minChars) return "Write at least " + minChars + " characters (" + n + " so far).";
    if (n > maxChars) return "The answer is " + n + " characters long; the limit is " + maxChars + ".";
    return "";
  }

  function showCount() {
    var n = length();
    countLine.textContent = n + " characters · " + minChars + " to " + maxChars;
    countLine.classList.toggle("is-warning", n > maxChars || (n > 0 && n < minChars));
  }

  function askPreview() {
    var asked = ++previewAsked;
    Submit.postJson(root.dataset.previewUrl, { text: textBox.value }).then(
      function (reply) {
        if (asked !== previewAsked) return; // a newer preview is on its way
        if (reply.status === 200 && reply.data && typeof reply.data.html === "string") {
          preview.innerHTML = reply.data.html; // sanitised by the server (labeling/rendering.py)
        }
      },
      function () {
        /* no preview this time; the text itself is safe in the draft */
      }
    );
  }

  function changed() {
    showCount();
    save();
    if (previewTimer) window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(askPreview, PREVIEW_DELAY_MS);
  }

  function tick() {
    Timer.show(timerOutput, leaseOutput, clock.elapsedMs(), expiresAt);
  }

  /* ---------- submit and skip ---------- */

  function done(nextUrl, message) {
    finished = true;
    draft.forget();
    statusLine.textContent = message;
    window.location.assign(nextUrl);
  }

  function submit() {
    if (submitting || finished) return;
    var problem = lengthProblem();
    if (problem) {
      showAlert(problem);
      textBox.focus();
      return;
    }
    clearAlert();
    submitting = true;
    submitButton.disabled = true;
    save();
    statusLine.textContent = "Submitting…";
    var body = { text: textBox.value, submission_id: state.submissionId, seconds: Math.round(clock.elapsedMs() / 100) / 10 };
    Submit.sendWithRetry(root.dataset.submitUrl, body, {
      status: function (text) {
        statusLine.textContent = text;
      },
      accepted: function (nextUrl) {
        done(nextUrl, "Submitted. Loading the next task…");
      },
      refused: function (message) {
        submitting = false;
        submitButton.disabled = false;
        statusLine.textContent = "";
        showAlert(message);
      },
    });
  }

  function openSkip() {
    if (submitting || finished) return;
    skipError.hidden = true;
    if (typeof skipDialog.showModal === "function") skipDialog.showModal();
    else skipDialog.setAttribute("open", "");
    skipForm.elements.reason.focus();
  }

  function closeSkip() {
    if (typeof skipDialog.close === "function") skipDialog.close();
    else skipDialog.removeAttribute("open");
    textBox.focus();
  }

  function sendSkip() {
    var confirmButton = skipForm.querySelector(".skip-confirm");
    confirmButton.disabled = true;
    Submit.skipOnce(root.dataset.skipUrl, { reason: skipForm.elements.reason.value }, {
      done: function (nextUrl) {
        done(nextUrl, "Skipped. Loading the next task…");
      },
      failed: function (message) {
        confirmButton.disabled = false;
        skipError.textContent = message;
        skipError.hidden = false;
      },
    });
  }

  /* ---------- wiring ---------- */

  var clock = Timer.createClock(state, save);
  restore();
  if (!state.submissionId) state.submissionId = newSubmissionId();
  draft.pruneOthers();
  save();
  showCount();
  askPreview();
  clock.start();
  tick();
  window.setInterval(tick, 1000);

  textBox.addEventListener("input", changed);
  submitButton.addEventListener("click", submit);
  skipButton.addEventListener("click", openSkip);
  skipForm.addEventListener("submit", function (event) {
    event.preventDefault();
    sendSkip();
  });
  skipForm.querySelector(".skip-cancel").addEventListener("click", closeSkip);
  skipDialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    closeSkip();
  });
  skipDialog.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      sendSkip();
    }
    event.stopPropagation();
  });
  document.addEventListener("keydown", function (event) {
    if (skipDialog.open) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      openSkip();
    }
  });
  window.addEventListener("pagehide", save);
  textBox.focus();
  root.classList.add("is-ready");
})((window.RlhfLabeler = window.RlhfLabeler || {}));

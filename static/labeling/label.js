/* The labeler page: rank K completions best to worst, ties allowed, keyboard first.
 *
 * State lives in one object and is saved to localStorage under the assignment id after every
 * change, so a reload, a crash or a flaky network never loses work. The submit carries a
 * submission_id made once per assignment; the server treats a repeat of it as the same
 * submission, so retries after a network error are safe.
 *
 * Untrusted text (prompt, completions, server messages) is only ever set with textContent.
 */
(function () {
  "use strict";

  var root = document.getElementById("labeler");
  if (!root) return;

  var STORAGE_PREFIX = "rlhf-labeler:v1:assignment:";
  var STORAGE_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
  var RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  var REQUEST_TIMEOUT_MS = 20000;
  var SCORE_MAX = 7;

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

  var assignmentId = root.dataset.assignmentId;
  var submitUrl = root.dataset.submitUrl;
  var skipUrl = root.dataset.skipUrl;
  var expiresAt = root.dataset.expiresAt ? new Date(root.dataset.expiresAt) : null;
  var storageKey = STORAGE_PREFIX + assignmentId;

  var cardsById = {};
  var serverOrder = [];
  Array.prototype.forEach.call(list.querySelectorAll(".rank-card"), function (card) {
    var id = Number(card.dataset.cardId);
    cardsById[id] = card;
    serverOrder.push(id);
  });
  var K = serverOrder.length;

  var state = {
    order: serverOrder.slice(), // completion ids, best first
    tied: {}, // id -> true when tied with the card above it
    scores: {}, // id -> 1..7
    flags: {}, // id -> [flag value, ...]
    comment: "",
    elapsedMs: 0,
    submissionId: newSubmissionId(),
  };
  var activeId = serverOrder[0];
  var finished = false; // set once the server has the ranking or skip: stop saving
  var submitting = false;
  var visibleSince = document.visibilityState === "visible" ? Date.now() : null;

  /* ---------- helpers ---------- */

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

  function letterOf(id) {
    return cardsById[id].dataset.letter;
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].trim();
      if (pair.indexOf(name + "=") === 0) return decodeURIComponent(pair.slice(name.length + 1));
    }
    return "";
  }

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

  function formatDuration(totalSeconds) {
    var s = Math.max(0, Math.floor(totalSeconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(sec).padStart(2, "0");
  }

  /* ---------- the ranking model ---------- */

  function tiers() {
    var result = [];
    state.order.forEach(function (id, index) {
      if (index > 0 && state.tied[id]) result[result.length - 1].push(id);
      else result.push([id]);
    });
    return result;
  }

  function normalizeTies() {
    delete state.tied[state.order[0]];
    Object.keys(state.tied).forEach(function (id) {
      if (!state.tied[id]) delete state.tied[id];
    });
  }

  /* Move a card to a 0-based index. Ties follow the cards, not the slots: a card that leaves
   * the head of a tie hands the head to the next member; a card dropped between two tied cards
   * joins their tie; otherwise a moved card arrives untied. */
  function moveCard(id, toIndex) {
    var from = state.order.indexOf(id);
    toIndex = Math.max(0, Math.min(K - 1, toIndex));
    if (from === -1 || from === toIndex) return false;
    var next = state.order[from + 1];
    if (next !== undefined && state.tied[next] && !state.tied[id]) delete state.tied[next];
    delete state.tied[id];
    state.order.splice(from, 1);
    state.order.splice(toIndex, 0, id);
    var below = state.order[toIndex + 1];
    if (toIndex > 0 && below !== undefined && state.tied[below]) state.tied[id] = true;
    normalizeTies();
    var message = "Response " + letterOf(id) + " moved to rank " + (toIndex + 1) + " of " + K + ".";
    if (state.tied[id]) message += " Tied with response " + letterOf(state.order[toIndex - 1]) + ".";
    changed();
    announce(message);
    return true;
  }

  function toggleTie(id) {
    var index = state.order.indexOf(id);
    if (index <= 0) {
      announce("The top response has no response above it to tie with.");
      flash(id);
      return;
    }
    if (state.tied[id]) delete state.tied[id];
    else state.tied[id] = true;
    changed();
    var above = letterOf(state.order[index - 1]);
    announce(
      state.tied[id]
        ? "Response " + letterOf(id) + " tied with response " + above + "."
        : "Response " + letterOf(id) + " no longer tied with response " + above + "."
    );
  }

  function setScore(id, score) {
    if (!score || state.scores[id] === score) {
      delete state.scores[id];
      announce("Score cleared for response " + letterOf(id) + ".");
    } else {
      state.scores[id] = score;
      announce("Response " + letterOf(id) + " scored " + score + " of " + SCORE_MAX + ".");
    }
    changed();
  }

  function setFlag(id, value, on) {
    var current = (state.flags[id] || []).filter(function (v) {
      return v !== value;
    });
    if (on) current.push(value);
    if (current.length) state.flags[id] = current;
    else delete state.flags[id];
    changed();
  }

  /* ---------- rendering ---------- */

  function render() {
    var groups = tiers();
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
      flagButton.querySelector(".flag-count").textContent = flags.length ? " (" + flags.length + ")" : "";
      card.classList.toggle("is-flagged", flags.length > 0);

      var status = "Rank " + (index + 1) + " of " + K + ": response " + letterOf(id) + ".";
      if (tied) status += " Tied with response " + letterOf(state.order[index - 1]) + ".";
      status += score ? " Score " + score + " of " + SCORE_MAX + "." : " No score.";
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

  function focusCard(id) {
    if (id === undefined) return;
    activeId = id;
    render();
    var card = cardsById[id];
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest", behavior: "auto" });
  }

  /* ---------- persistence ---------- */

  function elapsedMs() {
    return state.elapsedMs + (visibleSince === null ? 0 : Date.now() - visibleSince);
  }

  function save() {
    if (finished) return;
    var record = {
      order: state.order,
      tied: Object.keys(state.tied).map(Number),
      scores: state.scores,
      flags: state.flags,
      comment: state.comment,
      elapsedMs: elapsedMs(),
      submissionId: state.submissionId,
      savedAt: Date.now(),
    };
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(record));
    } catch (e) {
      /* private mode or a full quota: the page still works, only without reload safety */
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(storageKey);
    } catch (e) {
      /* nothing saved, nothing to remove */
    }
  }

  function isValidOrder(order) {
    if (!Array.isArray(order) || order.length !== K) return false;
    var sorted = order.slice().sort();
    var expected = serverOrder.slice().sort();
    return sorted.every(function (id, i) {
      return id === expected[i];
    });
  }

  function restore() {
    var record;
    try {
      record = JSON.parse(window.localStorage.getItem(storageKey) || "null");
    } catch (e) {
      record = null;
    }
    if (!record || !isValidOrder(record.order)) return false;
    state.order = record.order.map(Number);
    (record.tied || []).forEach(function (id) {
      if (cardsById[id]) state.tied[id] = true;
    });
    Object.keys(record.scores || {}).forEach(function (id) {
      var score = Number(record.scores[id]);
      if (cardsById[id] && score >= 1 && score <= SCORE_MAX) state.scores[id] = score;
    });
    Object.keys(record.flags || {}).forEach(function (id) {
      if (cardsById[id] && Array.isArray(record.flags[id]) && record.flags[id].length) {
        state.flags[id] = record.flags[id].map(String);
      }
    });
    state.comment = typeof record.comment === "string" ? record.comment : "";
    state.elapsedMs = Math.max(0, Number(record.elapsedMs) || 0);
    if (typeof record.submissionId === "string" && record.submissionId) state.submissionId = record.submissionId;
    normalizeTies();
    return true;
  }

  function pruneOldRecords() {
    try {
      var now = Date.now();
      for (var i = window.localStorage.length - 1; i >= 0; i--) {
        var key = window.localStorage.key(i);
        if (!key || key.indexOf(STORAGE_PREFIX) !== 0 || key === storageKey) continue;
        var record = JSON.parse(window.localStorage.getItem(key) || "null");
        if (!record || !(now - record.savedAt < STORAGE_MAX_AGE_MS)) window.localStorage.removeItem(key);
      }
    } catch (e) {
      /* best effort */
    }
  }

  function changed() {
    render();
    save();
  }

  /* ---------- timer and lease ---------- */

  function tick() {
    timerOutput.textContent = formatDuration(elapsedMs() / 1000);
    if (expiresAt && !isNaN(expiresAt.getTime())) {
      var left = Math.round((expiresAt.getTime() - Date.now()) / 60000);
      if (left > 0) {
        leaseOutput.textContent = "Reserved for you for " + left + " more min";
        leaseOutput.classList.toggle("is-warning", left <= 5);
      } else {
        leaseOutput.textContent = "Your reservation has expired";
        leaseOutput.classList.add("is-warning");
      }
    }
  }

  document.addEventListener("visibilitychange", function () {
    // Time counts only while the page is on screen.
    if (document.visibilityState === "visible") {
      if (visibleSince === null) visibleSince = Date.now();
    } else if (visibleSince !== null) {
      state.elapsedMs += Date.now() - visibleSince;
      visibleSince = null;
      save();
    }
  });
  window.addEventListener("pagehide", save);

  /* ---------- server calls ---------- */

  function postJson(url, body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller
      ? window.setTimeout(function () {
          controller.abort();
        }, REQUEST_TIMEOUT_MS)
      : null;
    return window
      .fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": cookie("csrftoken"),
          "X-Requested-With": "XMLHttpRequest",
        },
        body: JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
      })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var parse = type.indexOf("application/json") !== -1 ? response.json() : Promise.resolve(null);
        return parse
          .catch(function () {
            return null;
          })
          .then(function (data) {
            return { status: response.status, redirected: response.redirected, data: data };
          });
      })
      .finally(function () {
        if (timer) window.clearTimeout(timer);
      });
  }

  /* A reply the labeler can act on, or null when the request should be retried. */
  function explain(reply) {
    if (reply.status === 401 || reply.redirected || (reply.status === 200 && !reply.data)) {
      return "You are signed out. Sign in again in another tab, then submit here: your work on this page is kept.";
    }
    if (reply.data && reply.data.error) return reply.data.error;
    if (reply.status === 403) {
      return "The server refused the request (403): your session or its security token may have expired. Reload the page; your work on this page is kept.";
    }
    return "The server refused the request (HTTP " + reply.status + ").";
  }

  function submitRanking() {
    if (submitting || finished) return;
    submitting = true;
    clearAlert();
    root.setAttribute("aria-busy", "true");
    submitButton.disabled = true;
    skipButton.disabled = true;
    commentBox.readOnly = true;
    if (sortable) sortable.option("disabled", true);
    save();
    var body = {
      tiers: tiers(),
      scores: state.scores,
      flags: state.flags,
      comment: state.comment,
      seconds: Math.round(elapsedMs() / 100) / 10,
      submission_id: state.submissionId,
    };
    setStatus("Submitting…");
    attempt(0);

    function attempt(n) {
      postJson(submitUrl, body).then(
        function (reply) {
          if ((reply.status === 200 || reply.status === 201) && reply.data && reply.data.next_url) {
            done(reply.data.next_url, "Submitted. Loading the next task…");
          } else if (reply.status >= 500) {
            retry(n, "The server had a problem (HTTP " + reply.status + ").");
          } else {
            stop(explain(reply), reply.data && reply.data.field);
          }
        },
        function () {
          retry(n, navigator.onLine === false ? "You are offline." : "The network failed.");
        }
      );
    }

    function retry(n, why) {
      if (n >= RETRY_DELAYS_MS.length) {
        stop(why + " Your ranking is saved on this page; press Submit to try again.");
        return;
      }
      var delay = RETRY_DELAYS_MS[n];
      setStatus(why + " Retrying in " + Math.round(delay / 1000) + " s (attempt " + (n + 2) + ")…");
      window.setTimeout(function () {
        setStatus("Submitting… (attempt " + (n + 2) + ")");
        attempt(n + 1);
      }, delay);
    }

    function stop(message, field) {
      submitting = false;
      root.removeAttribute("aria-busy");
      submitButton.disabled = false;
      skipButton.disabled = false;
      commentBox.readOnly = false;
      if (sortable) sortable.option("disabled", false);
      setStatus("");
      showAlert(message);
      if (field === "comment") commentBox.focus();
    }
  }

  function done(nextUrl, message) {
    finished = true;
    forget();
    setStatus(message);
    announce(message);
    window.location.assign(nextUrl);
  }

  /* ---------- skip dialog ---------- */

  function openSkip() {
    if (submitting || finished) return;
    skipError.hidden = true;
    skipError.textContent = "";
    if (typeof skipDialog.showModal === "function") skipDialog.showModal();
    else skipDialog.setAttribute("open", "");
    var checked = skipForm.querySelector("input[name=reason]:checked");
    (checked || skipForm.querySelector("input[name=reason]")).focus();
  }

  function closeSkip() {
    if (typeof skipDialog.close === "function") skipDialog.close();
    else skipDialog.removeAttribute("open");
    focusCard(activeId);
  }

  function sendSkip() {
    var reason = skipForm.querySelector("input[name=reason]:checked");
    if (!reason) {
      skipError.textContent = "Choose a reason for skipping.";
      skipError.hidden = false;
      return;
    }
    var confirmButton = skipForm.querySelector(".skip-confirm");
    confirmButton.disabled = true;
    postJson(skipUrl, { reason: reason.value, note: skipForm.elements.note.value }).then(
      function (reply) {
        if (reply.status >= 200 && reply.status < 300 && reply.data && reply.data.next_url) {
          done(reply.data.next_url, "Skipped. Loading the next task…");
          return;
        }
        confirmButton.disabled = false;
        skipError.textContent = explain(reply);
        skipError.hidden = false;
      },
      function () {
        confirmButton.disabled = false;
        skipError.textContent = "The network failed; nothing was skipped. Try again.";
        skipError.hidden = false;
      }
    );
  }

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
    var reasons = skipForm.querySelectorAll("input[name=reason]");
    var digit = digitOf(event);
    if (event.target.tagName !== "TEXTAREA" && digit >= 1 && digit <= reasons.length && !event.shiftKey) {
      event.preventDefault();
      reasons[digit - 1].checked = true;
      reasons[digit - 1].focus();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      sendSkip();
    }
    event.stopPropagation();
  });
  skipButton.addEventListener("click", openSkip);

  /* ---------- flags panel ---------- */

  function openFlags(id) {
    var card = cardsById[id];
    var panel = card.querySelector(".card-flags");
    panel.hidden = false;
    card.querySelector(".flag-toggle").setAttribute("aria-expanded", "true");
    panel.querySelector(".flag-input").focus();
  }

  function closeFlags(id, refocus) {
    var card = cardsById[id];
    card.querySelector(".card-flags").hidden = true;
    card.querySelector(".flag-toggle").setAttribute("aria-expanded", "false");
    if (refocus) focusCard(id);
  }

  /* ---------- keyboard ---------- */

  function digitOf(event) {
    // event.code keeps the digit under Shift on every layout ("!" on US, "1" on AZERTY...).
    var match = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
    if (match) return Number(match[1]);
    if (/^[0-9]$/.test(event.key)) return Number(event.key);
    var shifted = ")!@#$%^&*(".indexOf(event.key);
    return shifted === -1 ? -1 : shifted;
  }

  function onKeydown(event) {
    if (finished || event.defaultPrevented) return;
    var target = event.target;
    var isSubmitChord = event.key === "Enter" && (event.ctrlKey || event.metaKey);
    if (isSubmitChord) {
      event.preventDefault();
      submitRanking();
      return;
    }
    if (skipDialog.open) return;

    var flagPanel = target.closest && target.closest(".card-flags");
    if (flagPanel) {
      var flagCard = Number(flagPanel.closest(".rank-card").dataset.cardId);
      var inputs = flagPanel.querySelectorAll(".flag-input");
      var n = digitOf(event);
      if (n >= 1 && n <= inputs.length && !event.shiftKey && !event.ctrlKey && !event.altKey && !submitting) {
        event.preventDefault();
        inputs[n - 1].checked = !inputs[n - 1].checked;
        setFlag(flagCard, inputs[n - 1].value, inputs[n - 1].checked);
        announce(inputs[n - 1].dataset.label + (inputs[n - 1].checked ? " flagged." : " unflagged."));
      } else if (event.key === "Escape" || event.key === "f" || event.key === "Enter") {
        event.preventDefault();
        closeFlags(flagCard, true);
      }
      return;
    }

    var typing = target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox");
    if (typing) {
      if (event.key === "Escape") {
        event.preventDefault();
        target.blur();
        focusCard(activeId);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;

    var cardEl = target.closest && target.closest(".rank-card");
    if (cardEl) activeId = Number(cardEl.dataset.cardId);
    var index = state.order.indexOf(activeId);
    var key = event.key;
    var digit = digitOf(event);
    var handled = true;

    if (submitting && key !== "ArrowDown" && key !== "ArrowUp" && key !== "j" && key !== "k") {
      return; // the ranking being sent must match what is on screen
    }
    if ((key === "ArrowDown" || key === "ArrowUp") && event.shiftKey) {
      if (moveCard(activeId, index + (key === "ArrowDown" ? 1 : -1))) focusCard(activeId);
    } else if (key === "ArrowDown" || key === "j") {
      focusCard(state.order[Math.min(K - 1, index + 1)]);
    } else if (key === "ArrowUp" || key === "k") {
      focusCard(state.order[Math.max(0, index - 1)]);
    } else if (key === "Home" || key === "End") {
      focusCard(state.order[key === "Home" ? 0 : K - 1]);
    } else if (event.shiftKey && digit >= 0 && digit <= SCORE_MAX) {
      setScore(activeId, digit);
    } else if (!event.shiftKey && digit >= 1 && digit <= 9) {
      if (digit > K) {
        announce("There are only " + K + " responses.");
      } else {
        moveCard(activeId, digit - 1);
        focusCard(activeId);
      }
    } else if (key === "t" || key === "T") {
      toggleTie(activeId);
    } else if (key === "f" || key === "F") {
      openFlags(activeId);
    } else if (key === "s" || key === "S") {
      openSkip();
    } else if (key === "c" || key === "C") {
      commentBox.focus();
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  }

  document.addEventListener("keydown", onKeydown);

  /* ---------- mouse ---------- */

  list.addEventListener("click", function (event) {
    var card = event.target.closest(".rank-card");
    if (!card) return;
    var id = Number(card.dataset.cardId);
    activeId = id;
    var scoreButton = event.target.closest(".score-btn");
    var tieButton = event.target.closest(".tie-toggle");
    var flagButton = event.target.closest(".flag-toggle");
    if (submitting && (scoreButton || tieButton)) return;
    if (scoreButton) {
      setScore(id, Number(scoreButton.dataset.score));
    } else if (tieButton) {
      toggleTie(id);
    } else if (flagButton) {
      if (card.querySelector(".card-flags").hidden) openFlags(id);
      else closeFlags(id, false);
    } else if (!event.target.closest("input, label, button, a") && !window.getSelection().toString()) {
      focusCard(id);
    } else {
      render();
    }
  });

  list.addEventListener("change", function (event) {
    var input = event.target.closest(".flag-input");
    if (!input) return;
    if (submitting) {
      input.checked = !input.checked; // the ranking being sent must match what is on screen
      return;
    }
    setFlag(Number(input.closest(".rank-card").dataset.cardId), input.value, input.checked);
  });

  list.addEventListener("focusin", function (event) {
    var card = event.target.closest(".rank-card");
    if (card && Number(card.dataset.cardId) !== activeId) {
      activeId = Number(card.dataset.cardId);
      render();
    }
  });

  commentBox.addEventListener("input", function () {
    state.comment = commentBox.value;
    save();
  });

  submitButton.addEventListener("click", submitRanking);

  var sortable = null;
  if (window.Sortable) {
    sortable = window.Sortable.create(list, {
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
        activeId = id;
        if (event.oldIndex === event.newIndex) {
          render();
          return;
        }
        // Sortable already moved the node; put it back so state stays the one source of order.
        moveCard(id, event.newIndex);
        focusCard(id);
      },
    });
  }

  /* ---------- start ---------- */

  pruneOldRecords();
  var restored = restore();
  activeId = state.order[0];
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
  focusCard(activeId);
})();

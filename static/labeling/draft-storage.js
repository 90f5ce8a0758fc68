/* The labeler page, part 2 of 9: work in progress kept in localStorage under the assignment id,
 * so a reload, a crash or a flaky network never loses work. Records older than two weeks (of
 * other assignments) are pruned. Storage that is missing, full or refused is ignored: the page
 * still works, only without reload safety.
 */
(function (ns) {
  "use strict";

  var Ranking = ns.Ranking;
  var STORAGE_PREFIX = "rlhf-labeler:v1:assignment:";
  var STORAGE_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

  function isValidOrder(order, serverOrder) {
    if (!Array.isArray(order) || order.length !== serverOrder.length) return false;
    var sorted = order.slice().sort();
    var expected = serverOrder.slice().sort();
    return sorted.every(function (id, i) {
      return id === expected[i];
    });
  }

  /* Copy a saved record into a fresh state, keeping only what fits these cards; false (and no
   * change) when the record is missing or its order is not a permutation of serverOrder. */
  function applyRecord(state, record, serverOrder) {
    if (!record || !isValidOrder(record.order, serverOrder)) return false;
    var known = {};
    serverOrder.forEach(function (id) {
      known[id] = true;
    });
    state.order = record.order.map(Number);
    (record.tied || []).forEach(function (id) {
      if (known[id]) state.tied[id] = true;
    });
    Object.keys(record.scores || {}).forEach(function (id) {
      var score = Number(record.scores[id]);
      if (known[id] && score >= 1 && score <= Ranking.SCORE_MAX) state.scores[id] = score;
    });
    Object.keys(record.flags || {}).forEach(function (id) {
      if (known[id] && Array.isArray(record.flags[id]) && record.flags[id].length) {
        state.flags[id] = record.flags[id].map(String);
      }
    });
    state.comment = typeof record.comment === "string" ? record.comment : "";
    state.elapsedMs = Math.max(0, Number(record.elapsedMs) || 0);
    if (typeof record.submissionId === "string" && record.submissionId) state.submissionId = record.submissionId;
    Ranking.normalizeTies(state);
    return true;
  }

  /* One record in localStorage under prefix + id, for any page's drafts (write.js uses it too):
   * write, read (null when missing or unreadable), forget, and pruneOthers, which drops the other
   * records under prefix that are older than two weeks or unreadable. */
  function store(prefix, id) {
    var storageKey = prefix + id;

    function write(record) {
      record.savedAt = Date.now();
      try {
        window.localStorage.setItem(storageKey, JSON.stringify(record));
      } catch (e) {
        /* private mode or a full quota: the page still works, only without reload safety */
      }
    }

    function read() {
      try {
        return JSON.parse(window.localStorage.getItem(storageKey) || "null");
      } catch (e) {
        return null;
      }
    }

    function forget() {
      try {
        window.localStorage.removeItem(storageKey);
      } catch (e) {
        /* nothing saved, nothing to remove */
      }
    }

    function pruneOthers() {
      try {
        var now = Date.now();
        for (var i = window.localStorage.length - 1; i >= 0; i--) {
          var key = window.localStorage.key(i);
          if (!key || key.indexOf(prefix) !== 0 || key === storageKey) continue;
          var record = JSON.parse(window.localStorage.getItem(key) || "null");
          if (!record || !(now - record.savedAt < STORAGE_MAX_AGE_MS)) window.localStorage.removeItem(key);
        }
      } catch (e) {
        /* best effort */
      }
    }

    return { key: storageKey, write: write, read: read, forget: forget, pruneOthers: pruneOthers };
  }

  /* The draft of one assignment. */
  function open(assignmentId) {
    var records = store(STORAGE_PREFIX, assignmentId);

    function save(state, elapsedMs) {
      records.write({
        order: state.order,
        tied: Object.keys(state.tied).map(Number),
        scores: state.scores,
        flags: state.flags,
        comment: state.comment,
        elapsedMs: elapsedMs,
        submissionId: state.submissionId,
      });
    }

    /* Load the saved draft into state; true when there was one that fits serverOrder. */
    function restore(state, serverOrder) {
      return applyRecord(state, records.read(), serverOrder);
    }

    return { key: records.key, save: save, forget: records.forget, restore: restore, pruneOthers: records.pruneOthers };
  }

  ns.Drafts = { open: open, store: store, applyRecord: applyRecord, isValidOrder: isValidOrder };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

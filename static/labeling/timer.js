/* The labeler page, part 4 of 9: time on task and the reservation countdown. Time counts only
 * while the page is on screen; stretches are banked into state.elapsedMs when it is hidden.
 */
(function (ns) {
  "use strict";

  function formatDuration(totalSeconds) {
    var s = Math.max(0, Math.floor(totalSeconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(sec).padStart(2, "0");
  }

  /* A clock over state.elapsedMs. It starts running now if the page is visible; from start() on
   * it follows the page's visibility and calls onHidden after banking a stretch. */
  function createClock(state, onHidden) {
    var visibleSince = document.visibilityState === "visible" ? Date.now() : null;

    function elapsedMs() {
      return state.elapsedMs + (visibleSince === null ? 0 : Date.now() - visibleSince);
    }

    function start() {
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "visible") {
          if (visibleSince === null) visibleSince = Date.now();
        } else if (visibleSince !== null) {
          state.elapsedMs += Date.now() - visibleSince;
          visibleSince = null;
          onHidden();
        }
      });
    }

    return { elapsedMs: elapsedMs, start: start };
  }

  /* Show the time on task and how long the assignment stays reserved (expiresAt may be null). */
  function show(timerOutput, leaseOutput, elapsedMs, expiresAt) {
    timerOutput.textContent = formatDuration(elapsedMs / 1000);
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

  ns.Timer = { formatDuration: formatDuration, createClock: createClock, show: show };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

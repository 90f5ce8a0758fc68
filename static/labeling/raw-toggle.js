/* The "raw" toggle on every rendered prompt and completion (templates/labeling/_text.html): swaps
 * the sanitised Markdown for the exact text and back. Loaded on every page by base.html.
 *
 * A plain button, so Tab moves past it and the labeler page's keys (keyboard.js) keep working while
 * it has focus; it changes nothing but what this one text shows, never the ranking. The buttons
 * start hidden and appear once this script runs: without it they would do nothing.
 */
(function () {
  "use strict";

  function toggle(button) {
    var view = button.closest(".text-view");
    if (!view) return;
    var raw = button.getAttribute("aria-pressed") !== "true";
    view.classList.toggle("is-raw", raw);
    Array.prototype.forEach.call(view.children, function (child) {
      if (child.classList.contains("md")) child.hidden = raw;
      else if (child.classList.contains("text-raw")) child.hidden = !raw;
    });
    button.setAttribute("aria-pressed", raw ? "true" : "false");
    button.title = raw ? "Show the formatted text" : "Show the exact raw text";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".raw-toggle");
    if (button) toggle(button);
  });

  function reveal() {
    Array.prototype.forEach.call(document.querySelectorAll(".raw-toggle[hidden]"), function (button) {
      button.hidden = false;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", reveal);
  else reveal();
})();

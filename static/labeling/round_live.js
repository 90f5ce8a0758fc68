// Round page: while the round is running, reload every 3 s so each step's progress bar moves.
(function () {
  "use strict";
  const steps = document.getElementById("round-steps");
  if (steps && steps.dataset.active === "1") window.setTimeout(() => window.location.reload(), 3000);
})();

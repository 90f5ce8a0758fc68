/* The labeler page, part 3 of 9: talking to the server. JSON POSTs with the CSRF token and a
 * timeout, and the submit loop: on a network error or a 5xx it retries with backoff, sending the
 * same body, so the same submission_id; the server treats a repeat of it as the same submission.
 */
(function (ns) {
  "use strict";

  var RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  var REQUEST_TIMEOUT_MS = 20000;

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].trim();
      if (pair.indexOf(name + "=") === 0) return decodeURIComponent(pair.slice(name.length + 1));
    }
    return "";
  }

  /* Resolves to {status, redirected, data} (data is null unless the reply is JSON); rejects only
   * when no reply came (network error or timeout). */
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

  /* What to tell the labeler about a reply that will not be retried. */
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

  /* POST body to url until the server accepts or refuses it. Calls
   *   on.status(text)          progress for the status line (retries and their countdown)
   *   on.accepted(nextUrl)     the server has it and named the next page
   *   on.refused(message, field)  given up: a refusal, or retries exhausted (field may be undefined)
   */
  function sendWithRetry(url, body, on) {
    attempt(0);

    function attempt(n) {
      postJson(url, body).then(
        function (reply) {
          if ((reply.status === 200 || reply.status === 201) && reply.data && reply.data.next_url) {
            on.accepted(reply.data.next_url);
          } else if (reply.status >= 500) {
            retry(n, "The server had a problem (HTTP " + reply.status + ").");
          } else {
            on.refused(explain(reply), reply.data && reply.data.field);
          }
        },
        function () {
          retry(n, navigator.onLine === false ? "You are offline." : "The network failed.");
        }
      );
    }

    function retry(n, why) {
      if (n >= RETRY_DELAYS_MS.length) {
        on.refused(why + " Your work is saved on this page; press Submit to try again.");
        return;
      }
      var delay = RETRY_DELAYS_MS[n];
      on.status(why + " Retrying in " + Math.round(delay / 1000) + " s (attempt " + (n + 2) + ")…");
      window.setTimeout(function () {
        on.status("Submitting… (attempt " + (n + 2) + ")");
        attempt(n + 1);
      }, delay);
    }
  }

  /* POST a skip once (a skip is not retried: the labeler sees the failure and tries again). Calls
   * on.done(nextUrl) when the server names the next page, else on.failed(message). */
  function skipOnce(url, body, on) {
    postJson(url, body).then(
      function (reply) {
        if (reply.status >= 200 && reply.status < 300 && reply.data && reply.data.next_url) {
          on.done(reply.data.next_url);
        } else {
          on.failed(explain(reply));
        }
      },
      function () {
        on.failed("The network failed; nothing was skipped. Try again.");
      }
    );
  }

  ns.Submit = {
    skipOnce: skipOnce,
    RETRY_DELAYS_MS: RETRY_DELAYS_MS,
    cookie: cookie,
    postJson: postJson,
    explain: explain,
    sendWithRetry: sendWithRetry,
  };
})((window.RlhfLabeler = window.RlhfLabeler || {}));

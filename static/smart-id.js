// The Smart-ID waiting page: polls our status endpoint (no personal data in it) and moves on
// by submitting the page's own "continue" form when the phone has answered. With script the
// button is hidden (there is nothing to press); without script the page refreshes itself and
// the button does the same.
(function () {
  "use strict";
  var status = document.getElementById("sid-status");
  var finish = document.getElementById("sid-finish");
  if (!status || !finish) { return; }
  finish.hidden = true;
  function poll() {
    fetch(status.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      // A server-side hiccup (5xx) is retried; any other answer is final for this page.
      .then(function (r) { if (r.status >= 500) { throw new Error("retry"); } return r.json(); })
      .then(function (s) {
        if (s.message) { status.textContent = s.message; }
        if (s.state === "running") { window.setTimeout(poll, 1500); return; }
        finish.submit();
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());

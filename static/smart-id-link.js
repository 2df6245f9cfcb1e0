// The Smart-ID device-link page: the QR code is fetched anew from our server every second (its
// authCode changes each second and is made server-side, where the session secret stays), and
// the status is polled as on the code page. On a touch device the "Open Smart-ID" button
// (Web2App) replaces the QR code, which the phone could not scan itself.
(function () {
  "use strict";
  var qr = document.getElementById("sid-qr");
  var status = document.getElementById("sid-status");
  var finish = document.getElementById("sid-finish");
  if (!qr || !status || !finish) { return; }
  var done = false;
  if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) {
    document.getElementById("sid-qr-block").hidden = true;
    document.getElementById("sid-app-block").hidden = false;
  }
  function refresh() {
    if (done) { return; }
    qr.src = qr.dataset.qrUrl + "?t=" + Date.now();
    window.setTimeout(refresh, 1000);
  }
  function poll() {
    fetch(status.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (r.status >= 500) { throw new Error("retry"); } return r.json(); })
      .then(function (s) {
        if (s.message) { status.textContent = s.message; }
        if (s.state === "running") { window.setTimeout(poll, 1500); return; }
        done = true;
        finish.submit();
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(refresh, 1000);
  window.setTimeout(poll, 1000);
}());

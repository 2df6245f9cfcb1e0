// The card page: asks the citizen's local connector for the card's state, gets a one-time
// challenge from our server, has the connector sign it with the card (PIN on this computer
// only), and hands the signed token to our server. Texts come from data-* attributes.
(function () {
  "use strict";
  var root = document.getElementById("card");
  if (!root) { return; }
  var d = root.dataset;
  var status = document.getElementById("card-status");
  var form = document.getElementById("card-form");
  var pin = document.getElementById("pin");
  var submit = document.getElementById("card-submit");

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "status error" : "status";
  }

  function connectorMessage(body) {
    switch (body && body.error) {
      case "no_reader": case "pcsc_unavailable": return d.tNoReader;
      case "no_card": return d.tNoCard;
      case "wrong_pin": return d.tWrongPin.replace("{n}", String(body.tries_left));
      case "pin_blocked": return d.tPinBlocked;
      case "card_removed": return d.tCardRemoved;
      case "busy": return d.tBusy;
      default: return d.tError;
    }
  }

  function json(response) {
    return response.json().then(function (body) { return { ok: response.ok, body: body }; },
      function () { return { ok: false, body: {} }; });
  }

  function checkCard() {
    say(d.tChecking);
    fetch(d.connector + "/v1/status", { mode: "cors", cache: "no-store" })
      .then(json)
      .then(function (r) {
        if (!r.ok) { say(connectorMessage(r.body), true); return; }
        if (!r.body.readers || r.body.readers.length === 0) { say(d.tNoReader, true); return; }
        if (!r.body.card_present) { say(d.tNoCard, true); return; }
        say(d.tReady);
        form.hidden = false;
        pin.focus();
      })
      .catch(function () { say(d.tNoConnector, true); });
  }

  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(fields)
    }).then(json);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    var pinValue = pin.value;
    pin.value = "";
    post(d.nonceUrl, { csrf: d.csrf })
      .then(function (r) {
        if (!r.ok) { throw { message: r.body.message || d.tError }; }
        say(d.tSigning);
        return fetch(d.connector + "/v1/authenticate", {
          method: "POST",
          mode: "cors",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ challenge: r.body.challenge, pin: pinValue })
        }).then(json);
      })
      .then(function (r) {
        pinValue = null;
        if (!r.ok) { throw { message: connectorMessage(r.body) }; }
        say(d.tVerifying);
        return post(d.tokenUrl, { csrf: d.csrf, token: r.body });
      })
      .then(function (r) {
        if (r.body && r.body.location) { window.location.assign(r.body.location); return; }
        throw { message: (r.body && r.body.message) || d.tRefused };
      })
      .catch(function (e) {
        pinValue = null;
        say((e && e.message) || d.tNoConnector, true);
        submit.disabled = false;
      });
  });

  checkCard();
}());

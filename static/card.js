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
  var help = document.getElementById("card-help");
  var retryRow = document.getElementById("card-retry-row");
  var retry = document.getElementById("card-retry");
  // The browser's own CLDR plural rules for the page's language ("1 try" / "2 tries").
  var plurals = new Intl.PluralRules(document.documentElement.lang || "en");

  // An error moves the focus to the message, so it is read out and the keyboard starts there.
  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "status error" : "status";
    if (isError) { status.focus(); }
  }

  function triesLeft(n) {
    var text = plurals.select(n) === "one" ? d.tWrongPinOne : d.tWrongPinOther;
    return text.replace("{n}", String(n));
  }

  // A blocked PIN cannot be tried again here: the form goes away for good.
  function lock() {
    form.hidden = true;
    pin.disabled = true;
    submit.disabled = true;
    retryRow.hidden = true;
  }

  function connectorMessage(body) {
    switch (body && body.error) {
      case "no_reader": case "pcsc_unavailable": return d.tNoReader;
      case "no_card": return d.tNoCard;
      case "wrong_pin": return triesLeft(body.tries_left);
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
    help.hidden = true;
    retryRow.hidden = true;
    fetch(d.connector + "/v1/status", { mode: "cors", cache: "no-store" })
      .then(json)
      .then(function (r) {
        var problem = !r.ok ? connectorMessage(r.body)
          : (!r.body.readers || r.body.readers.length === 0) ? d.tNoReader
          : !r.body.card_present ? d.tNoCard : null;
        if (problem) {
          retryRow.hidden = false;
          say(problem, true);
          return;
        }
        say(d.tReady);
        form.hidden = false;
        pin.focus();
      })
      .catch(function () {
        help.hidden = false;
        retryRow.hidden = false;
        say(d.tNoConnector, true);
      });
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
        if (!r.ok) { throw { message: connectorMessage(r.body), blocked: r.body && r.body.error === "pin_blocked" }; }
        say(d.tVerifying);
        return post(d.tokenUrl, { csrf: d.csrf, token: r.body });
      })
      .then(function (r) {
        if (r.body && r.body.location) { window.location.assign(r.body.location); return; }
        throw { message: (r.body && r.body.message) || d.tRefused };
      })
      .catch(function (e) {
        pinValue = null;
        if (e && e.blocked) { lock(); } else { submit.disabled = false; }
        say((e && e.message) || d.tNoConnector, true);
      });
  });

  retry.addEventListener("click", checkCard);
  checkCard();
}());

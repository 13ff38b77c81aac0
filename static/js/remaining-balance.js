// The balance after the entry being typed: Record Payment (seed 003), and the
// write-off and dispute-hold drawers (issue 15). Hooked to attributes on the amount input:
//   data-remaining-from="<balance due>"  data-remaining-limit="<available>"
//   data-remaining-output="<id>"         data-remaining-kind="payment|writeoff|dispute"
// Delegated from document, so it also works in drawers htmx swaps in, and run once on
// each swap so a re-rendered (refused) form shows the truth for what it holds.
// Arithmetic is on integer minor units parsed from the strings, never on floats.
(function () {
  "use strict";

  function toMinor(text, places) {
    var cleaned = String(text).trim().replace(/,/g, "");
    var match = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
    if (!match || (match[1] === "" && !match[2])) return null;
    var fraction = match[2] || "";
    if (fraction.length > places) return null;
    while (fraction.length < places) fraction += "0";
    return BigInt((match[1] || "0") + fraction);
  }

  function format(minor, places) {
    var negative = minor < 0n;
    var digits = (negative ? -minor : minor).toString().padStart(places + 1, "0");
    var whole = places ? digits.slice(0, -places) : digits;
    var fraction = places ? "." + digits.slice(-places) : "";
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + whole + fraction;
  }

  var NOUN = { payment: "payment", writeoff: "write-off", dispute: "hold" };

  function update(input) {
    var output = document.getElementById(input.dataset.remainingOutput);
    if (!output) return;
    var kind = input.dataset.remainingKind || "payment";
    var balance = input.dataset.remainingFrom;
    var places = (balance.split(".")[1] || "").length;
    var balanceMinor = toMinor(balance, places);
    var availableMinor = toMinor(input.dataset.remainingLimit || balance, places);
    var empty = input.value.trim() === "";
    var typed = empty ? 0n : toMinor(input.value, places);
    var text;
    if (typed === null) {
      text = "Enter an amount such as 125.50.";
    } else if (typed > availableMinor) {
      text = "That is more than the " + format(availableMinor, places) + " available" +
        (kind === "payment" ? " to pay." : ".");
    } else if (kind === "payment") {
      text = "Remaining balance after this payment: " + format(balanceMinor - typed, places);
    } else if (empty) {
      text = "Up to " + format(availableMinor, places) + " is available.";
    } else {
      // A write-off lowers the balance due; a hold leaves it and lowers what is available.
      var dueAfter = kind === "writeoff" ? balanceMinor - typed : balanceMinor;
      text = "After this " + NOUN[kind] + ": balance due " + format(dueAfter, places) +
        ", available " + format(availableMinor - typed, places) + ".";
    }
    output.textContent = text;
  }

  function isAmount(el) {
    return el instanceof HTMLInputElement && el.dataset.remainingFrom !== undefined;
  }

  document.addEventListener("input", function (event) {
    if (isAmount(event.target)) update(event.target);
  });
  // A refused amount is shown as the server said it; any other re-rendered amount is recomputed.
  document.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll("[data-remaining-from]").forEach(function (input) {
      if (input.value.trim() !== "" && input.getAttribute("aria-invalid") !== "true") update(input);
    });
  });
})();

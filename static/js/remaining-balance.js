// Record Payment: show the balance that remains as the amount is typed (seed 003).
// Hooked to data-remaining-from="<balance due>", data-remaining-limit="<available>" and
// data-remaining-output="<id>" on the amount input. Delegated from document, so it also works in drawers htmx swaps in.
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

  function update(input) {
    var output = document.getElementById(input.dataset.remainingOutput);
    if (!output) return;
    var balance = input.dataset.remainingFrom;
    var places = (balance.split(".")[1] || "").length;
    var balanceMinor = toMinor(balance, places);
    var availableMinor = toMinor(input.dataset.remainingLimit || balance, places);
    var typed = input.value.trim() === "" ? 0n : toMinor(input.value, places);
    var text;
    if (typed === null) {
      text = "Enter an amount such as 125.50.";
    } else if (typed > availableMinor) {
      text = "That is more than the " + format(availableMinor, places) + " available to pay.";
    } else {
      text = "Remaining balance after this payment: " + format(balanceMinor - typed, places);
    }
    output.textContent = text;
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.dataset.remainingFrom !== undefined) {
      update(input);
    }
  });
})();

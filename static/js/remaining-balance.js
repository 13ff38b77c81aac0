// The balance after the entry being typed: Record Payment (seed 003), and the
// write-off and dispute-hold drawers (issue 15). Hooked to attributes on the amount input:
//   data-remaining-from="<balance due>"  data-remaining-limit="<available>"
//   data-remaining-output="<id>"         data-remaining-kind="payment|writeoff|dispute"
// and to how the server reads the amount (billing.money.amount_widget_attrs):
//   data-amount-decimal, data-amount-group, data-amount-grouping (group sizes from the
//   right), data-amount-places (the currency's), data-amount-max (the largest amount).
// readAmount() accepts exactly what billing.money.parse_amount accepts, and reads it as the
// same number: what the server would refuse shows no figure at all, never a different one
// (tests/billing/test_amount_js.py runs both over the same inputs).
// Delegated from document, so it also works in drawers htmx swaps in, and run once on
// each swap so a re-rendered (refused) form shows the truth for what it holds.
// Arithmetic is on integer minor units parsed from the strings, never on floats.
(function () {
  "use strict";

  var DIGITS = /^[0-9]*$/;

  // The size of the index-th group left of the decimal separator (0 = rightmost):
  // Django's NUMBER_GROUPING, where 0 repeats the size before and the last size repeats.
  function groupSize(grouping, index) {
    var size = 0;
    for (var i = 0; i <= index && i < grouping.length; i++) {
      size = grouping[i] || size;
    }
    return size;
  }

  function groupedProperly(groups, grouping) {
    var count = groups.length;
    for (var i = 0; i < count - 1; i++) {
      var group = groups[count - 1 - i];
      if (!DIGITS.test(group) || group.length !== groupSize(grouping, i)) return false;
    }
    var first = groups[0];
    return DIGITS.test(first) && first.length >= 1 &&
      first.length <= groupSize(grouping, count - 1) && first.charAt(0) !== "0";
  }

  // The amount typed, in minor units (a BigInt), or null when the server would refuse it.
  // format: {decimal, group, grouping: [sizes], places, max (whole units, a string)}.
  function readAmount(text, format) {
    var trimmed = String(text).replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, "");
    if (trimmed === "") return null;
    var parts = trimmed.split(format.decimal);
    if (parts.length > 2) return null;
    var whole = parts[0];
    var fraction = parts.length === 2 ? parts[1] : "";
    if (!DIGITS.test(fraction)) return null;
    if (format.group && whole.indexOf(format.group) !== -1) {
      var groups = whole.split(format.group);
      if (!groupedProperly(groups, format.grouping)) return null;
      whole = groups.join("");
    }
    if (!DIGITS.test(whole) || (whole === "" && fraction === "")) return null;
    if (fraction.length > format.places) return null;
    while (fraction.length < format.places) fraction += "0";
    var minor = BigInt((whole || "0") + fraction);
    var maxMinor = BigInt(format.max) * 10n ** BigInt(format.places);
    if (minor === 0n || minor > maxMinor) return null;
    return minor;
  }

  // A plain "1234.50" (the balances the server writes in data attributes), zero allowed.
  function plainMinor(text, places) {
    var match = /^([0-9]+)(?:\.([0-9]*))?$/.exec(String(text).trim());
    if (!match) return null;
    var fraction = match[2] || "";
    if (fraction.length > places) return null;
    while (fraction.length < places) fraction += "0";
    return BigInt(match[1] + fraction);
  }

  function formatOf(input) {
    var data = input.dataset;
    var grouping = (data.amountGrouping || "").split(",").filter(Boolean).map(Number);
    return {
      decimal: data.amountDecimal || ".",
      group: grouping.length ? data.amountGroup || "" : "",
      grouping: grouping,
      places: Number(data.amountPlaces || "2"),
      max: data.amountMax || "999999999999",
    };
  }

  function withGrouping(digits, format) {
    if (!format.group) return digits;
    var groups = [];
    while (digits) {
      var size = groupSize(format.grouping, groups.length);
      groups.unshift(digits.slice(-size));
      digits = digits.slice(0, -size);
    }
    return groups.join(format.group);
  }

  function show(minor, format) {
    var places = format.places;
    var negative = minor < 0n;
    var digits = (negative ? -minor : minor).toString().padStart(places + 1, "0");
    var whole = places ? digits.slice(0, -places) : digits;
    var fraction = places ? "." + digits.slice(-places) : "";
    // Shown as every screen shows money (billing.money.format_money).
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + whole + fraction;
  }

  function example(format) {
    var text = withGrouping("1234", format);
    if (format.places) text += format.decimal + ("5" + "0".repeat(format.places)).slice(0, format.places);
    var mark = { ".": "a point", ",": "a comma" }[format.decimal] || format.decimal;
    return "Enter an amount such as " + text +
      (format.places ? ", with " + mark + " for decimals." : ", a whole number.");
  }

  var NOUN = { payment: "payment", writeoff: "write-off", dispute: "hold" };

  function update(input) {
    var output = document.getElementById(input.dataset.remainingOutput);
    if (!output) return;
    var format = formatOf(input);
    var kind = input.dataset.remainingKind || "payment";
    var balanceMinor = plainMinor(input.dataset.remainingFrom, format.places);
    var availableMinor = plainMinor(
      input.dataset.remainingLimit || input.dataset.remainingFrom, format.places
    );
    if (balanceMinor === null || availableMinor === null) return;
    var empty = input.value.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, "") === "";
    var typed = empty ? 0n : readAmount(input.value, format);
    var text;
    if (typed === null) {
      text = example(format);
    } else if (typed > availableMinor) {
      text = "That is more than the " + show(availableMinor, format) + " available" +
        (kind === "payment" ? " to pay." : ".");
    } else if (kind === "payment") {
      text = "Remaining balance after this payment: " + show(balanceMinor - typed, format);
    } else if (empty) {
      text = "Up to " + show(availableMinor, format) + " is available.";
    } else {
      // A write-off lowers the balance due; a hold leaves it and lowers what is available.
      var dueAfter = kind === "writeoff" ? balanceMinor - typed : balanceMinor;
      text = "After this " + NOUN[kind] + ": balance due " + show(dueAfter, format) +
        ", available " + show(availableMinor - typed, format) + ".";
    }
    output.textContent = text;
  }

  // For tests/billing/test_amount_js.py, which runs this file in Node.
  if (typeof module === "object" && module.exports) {
    module.exports = { readAmount: readAmount };
  }
  if (typeof document === "undefined") return;

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

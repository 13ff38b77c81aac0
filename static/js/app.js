/*
 * The app's small behaviours, hooked to data-* attributes and htmx events.
 * No inline scripts and no hx-on: the Content-Security-Policy allows only
 * static files.
 *
 * - #drawer (Bootstrap offcanvas) and #popout (Bootstrap modal) open when htmx
 *   swaps a fragment into #drawer-content / #popout-content, and focus returns
 *   to the control that opened them when they close (Escape included).
 * - HX-Trigger events from the server (named in billing/htmx.py): closeOverlays,
 *   closePopout, showMessage, and ledgerChanged carrying {kind, id}, whose row
 *   is highlighted when the table refreshes; approvalsChanged carrying {count}
 *   updates the top bar's Approvals badge ([data-approvals-count]).
 * - [data-js-only] controls stay hidden without JavaScript.
 * - [data-fill-target] buttons copy data-fill-value into a field ("full balance").
 * - [data-expiry-preview] shows the date a dispute hold will expire.
 * - [data-hides] checkboxes hide another element while checked.
 * - [data-focus-field] links (an error summary's) focus the field they name.
 * - [data-print] buttons print the page (a credit note).
 */
(function () {
  "use strict";

  const openers = new WeakMap();
  let pendingFocusId = null;
  let pendingHighlight = null;
  // The id of what had focus when htmx began a swap (htmx gives it back to the new
  // element of that id): anything else focused since then was chosen by the user.
  let focusedIdBeforeSwap = null;

  function drawer() { return document.getElementById("drawer"); }
  function popout() { return document.getElementById("popout"); }
  function isShown(el) { return el && el.classList.contains("show"); }

  // Into a drawer or pop-out: an invalid field first, then the first field of a form,
  // then the first link or button, then the heading.
  const FOCUS_ORDER = [
    "[autofocus]",
    ".is-invalid",
    "form input:not([type=hidden]):not([disabled]), form select, form textarea",
    "input:not([type=hidden]):not([disabled]), a[href], button:not([data-bs-dismiss])",
  ];

  function focusFirstIn(container) {
    // A field the user has moved into since the swap keeps its focus: a quick click
    // (or a test's typing) must not be pulled back to the first field.
    const active = document.activeElement;
    if (active && container.contains(active) && active.matches("input, select, textarea")
        && active.id !== focusedIdBeforeSwap) { return; }
    let target = null;
    for (const selector of FOCUS_ORDER) {
      target = container.querySelector(selector);
      if (target) { break; }
    }
    target = target || container.querySelector("h2, h1");
    if (!target) { return; }
    if (/^H[1-6]$/.test(target.tagName) && !target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  function returnFocus(opener) {
    if (!opener) { return; }
    if (opener.isConnected) {
      opener.focus();
      return;
    }
    // The opener was inside content that has since been refreshed: focus its
    // successor (same id) now, or as soon as the refresh lands.
    if (opener.id) {
      const again = document.getElementById(opener.id);
      if (again) { again.focus(); } else { pendingFocusId = opener.id; }
    }
  }

  function overlayFor(target) {
    if (!target) { return null; }
    if (target.id === "drawer-content") { return drawer(); }
    if (target.id === "popout-content") { return popout(); }
    return null;
  }

  function show(overlay) {
    if (overlay === drawer()) {
      bootstrap.Offcanvas.getOrCreateInstance(overlay).show();
    } else {
      bootstrap.Modal.getOrCreateInstance(overlay).show();
    }
  }

  function hide(overlay) {
    if (!isShown(overlay)) { return; }
    if (overlay === drawer()) {
      bootstrap.Offcanvas.getOrCreateInstance(overlay).hide();
    } else {
      bootstrap.Modal.getOrCreateInstance(overlay).hide();
    }
  }

  // Remember which control opened a drawer or pop-out, to return focus to it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const overlay = overlayFor(event.detail.target);
    if (overlay && !isShown(overlay)) {
      const active = document.activeElement;
      openers.set(overlay, active && active !== document.body ? active : event.detail.elt);
    }
  });

  // A 403/404 answered with HX-Retarget is a message meant for the drawer. In DEBUG,
  // django-htmx's helper (listening on document) would replace the whole page with
  // any 403/404 body; stopping the event at <body> keeps it from seeing ours, while
  // htmx itself carries on (it only honours preventDefault).
  document.body.addEventListener("htmx:beforeOnLoad", function (event) {
    const xhr = event.detail.xhr;
    if ((xhr.status === 403 || xhr.status === 404) && xhr.getResponseHeader("HX-Retarget")) {
      event.stopPropagation();
    }
  });

  document.addEventListener("htmx:beforeSwap", function () {
    focusedIdBeforeSwap = document.activeElement ? document.activeElement.id : null;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    const overlay = overlayFor(target);
    // An overlay already open gets its focus once htmx has settled: until then a field
    // that kept its id still carries its old attributes (no .is-invalid yet).
    if (overlay && !isShown(overlay)) { show(overlay); }
    if (pendingHighlight !== null) {
      const row = document.querySelector(pendingHighlight);
      if (row) {
        row.classList.add("row-new");
        pendingHighlight = null;
      }
    }
    if (pendingFocusId) {
      const again = document.getElementById(pendingFocusId);
      if (again) {
        pendingFocusId = null;
        again.focus();
      }
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    const overlay = overlayFor(target);
    if (overlay && isShown(overlay)) { focusFirstIn(target); }
  });

  document.addEventListener("shown.bs.offcanvas", function (event) {
    if (event.target === drawer()) { focusFirstIn(document.getElementById("drawer-content")); }
  });
  document.addEventListener("shown.bs.modal", function (event) {
    if (event.target === popout()) { focusFirstIn(document.getElementById("popout-content")); }
  });
  document.addEventListener("hidden.bs.offcanvas", function (event) {
    if (event.target !== drawer()) { return; }
    document.getElementById("drawer-content").replaceChildren();
    returnFocus(openers.get(drawer()));
  });
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target !== popout()) { return; }
    document.getElementById("popout-content").replaceChildren();
    if (isShown(drawer())) {
      returnFocus(openers.get(popout()));
    } else {
      returnFocus(openers.get(drawer()) || openers.get(popout()));
    }
  });

  // Escape closes the pop-out if it is open, otherwise the drawer. Bootstrap does
  // this too, but only once focus is inside; this also covers the moment while a
  // drawer is still sliding in. Capture phase, so the decision is made before
  // Bootstrap's own handler starts closing anything (its second hide is a no-op).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    const modal = popout();
    if (modal.classList.contains("show")) {
      bootstrap.Modal.getOrCreateInstance(modal).hide();
      return;
    }
    const offcanvas = drawer();
    if (offcanvas.classList.contains("show") || offcanvas.classList.contains("showing")) {
      bootstrap.Offcanvas.getOrCreateInstance(offcanvas).hide();
    }
  }, true);

  // Tabs: arrow keys, Home and End move between the tabs of a tablist (ARIA tabs
  // pattern). The tab's panel is swapped by htmx, which replaces the tab itself, so
  // focus goes to its successor once the swap lands.
  document.addEventListener("keydown", function (event) {
    const tab = event.target.closest && event.target.closest('[role="tab"]');
    if (!tab || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) { return; }
    const tabs = Array.from(tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]'));
    let index = tabs.indexOf(tab);
    if (event.key === "Home") { index = 0; }
    else if (event.key === "End") { index = tabs.length - 1; }
    else { index = (index + (event.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length; }
    event.preventDefault();
    pendingFocusId = tabs[index].id || null;
    tabs[index].focus();
    tabs[index].click();
  });

  // Events the server sends in HX-Trigger.
  // Deferred: htmx is still dispatching this response's other events on the form
  // inside the pop-out, and closing empties the pop-out, which would detach it.
  document.addEventListener("closePopout", function () {
    setTimeout(function () { hide(popout()); }, 0);
  });
  document.addEventListener("closeOverlays", function () {
    setTimeout(function () {
      hide(popout());
      hide(drawer());
    }, 0);
  });
  document.addEventListener("showMessage", function (event) {
    const detail = event.detail || {};
    const alert = document.createElement("div");
    alert.className = "alert alert-" + (detail.level || "success") + " alert-dismissible";
    alert.setAttribute("role", "status");
    alert.textContent = detail.text || "";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Close");
    alert.appendChild(close);
    const area = document.getElementById("messages");
    area.replaceChildren(alert);
  });
  // An approval, rejection or a new pending write-off: the top bar's count follows.
  document.addEventListener("approvalsChanged", function (event) {
    const count = (event.detail || {}).count;
    if (typeof count !== "number") { return; }
    document.querySelectorAll("[data-approvals-count]").forEach(function (badge) {
      badge.textContent = String(count);
      badge.setAttribute("aria-label", count + " waiting");
    });
  });
  // A payment, write-off or hold changed: highlight its row once the table has refreshed.
  document.addEventListener("ledgerChanged", function (event) {
    const detail = event.detail || {};
    if (detail.kind && detail.id !== undefined) {
      pendingHighlight = '[data-entry-kind="' + detail.kind + '"][data-entry-id="' + detail.id + '"]';
    }
  });

  function formatDate(date) {
    return date.toLocaleDateString("en-US", {
      month: "short", day: "numeric", year: "numeric", timeZone: "UTC",
    });
  }

  function updateExpiryPreview(preview) {
    const source = document.getElementById(preview.dataset.expirySource);
    if (!source) { return; }
    const raw = source.value.trim();
    const days = raw === "" ? Number(preview.dataset.expiryDefault) : Number(raw);
    // Only a number the service accepts gets a date: a preview for 200 days under a
    // 2-90 limit promised an expiry that would be refused.
    const min = Number(source.min || 0);
    const max = Number(source.max || 10000);
    if (raw !== "" && !/^[0-9]+$/.test(raw)) {
      preview.textContent = "Enter a whole number of days from " + min + " to " + max + ".";
      return;
    }
    if (raw !== "" && (days < min || days > max)) {
      preview.textContent = "Enter a number of days from " + min + " to " + max + ".";
      return;
    }
    const parts = preview.dataset.expiryFrom.split("-").map(Number);
    const date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] + days));
    preview.textContent = "Expires on " + formatDate(date) + " (" + days + " days).";
  }

  function updateHidden(checkbox) {
    const target = document.getElementById(checkbox.dataset.hides);
    if (target) { target.hidden = checkbox.checked; }
  }

  htmx.onLoad(function (root) {
    root.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
    root.querySelectorAll("[data-expiry-preview]").forEach(updateExpiryPreview);
    root.querySelectorAll("[data-hides]").forEach(updateHidden);
  });

  document.addEventListener("click", function (event) {
    // An error summary's link: focus its field (a fragment link would scroll the page).
    const errorLink = event.target.closest("[data-focus-field]");
    if (errorLink) {
      const field = document.getElementById(errorLink.dataset.focusField);
      if (field) {
        event.preventDefault();
        field.focus();
      }
      return;
    }
    if (event.target.closest("[data-print]")) {
      window.print();
      return;
    }
    const filler = event.target.closest("[data-fill-target]");
    if (filler) {
      const field = document.getElementById(filler.dataset.fillTarget);
      if (field) {
        field.value = filler.dataset.fillValue;
        field.dispatchEvent(new Event("input", { bubbles: true }));
        field.focus();
      }
    }
  });

  document.addEventListener("input", function (event) {
    const id = event.target.id;
    if (!id) { return; }
    document.querySelectorAll('[data-expiry-source="' + id + '"]').forEach(updateExpiryPreview);
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-hides]")) { updateHidden(event.target); }
  });
})();

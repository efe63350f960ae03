// The Art. 32 completeness check of a draft opinion on the desk's case page (routing/desk.py).
// Forms that carry an opinion (reply, review and re-review decisions, the notice form) get a
// "Check" button and a result box; the check also runs as the clerk pauses typing. The request
// goes through htmx, which sends the form's fields and the CSRF header of <body hx-headers>.
// A static file: the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";
  var FIELDS = [
    'textarea[name="reply-opinion"]',
    'textarea[name="decide_review-opinion"]',
    'textarea[name="decide_rereview-opinion"]',
    '[name="notice-kind"]',
    'textarea[name="notice-request"]',
    'textarea[name="notice-facts_found"]',
    '[name="notice-legal_basis"]'
  ].join(",");
  var DELAY_MS = 800;
  var timers = new WeakMap();

  function config() {
    return document.getElementById("opinion-check-config");
  }

  function check(form) {
    var cfg = config();
    var out = form.querySelector(".opinion-check");
    if (!cfg || !out || !window.htmx) {
      return;
    }
    // The source is a field, not the form: htmx still sends the whole form, but does not run
    // the browser's validation of it (an unfinished form must not block the check).
    var source = form.querySelector(FIELDS);
    window.htmx.ajax("POST", cfg.dataset.url, { source: source, target: out, swap: "innerHTML" });
  }

  function equip(root) {
    var cfg = config();
    if (!cfg) {
      return;
    }
    root.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector(FIELDS) || form.querySelector(".opinion-check")) {
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary opinion-check-button";
      button.textContent = cfg.dataset.label;
      var out = document.createElement("div");
      out.className = "opinion-check";
      out.setAttribute("aria-live", "polite");
      var submit = form.querySelector('button[type="submit"]');
      if (submit) {
        submit.before(button, out);
      } else {
        form.append(button, out);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".opinion-check-button");
    if (button) {
      check(button.closest("form"));
    }
  });

  function later(event) {
    if (!event.target.matches || !event.target.matches(FIELDS)) {
      return;
    }
    var form = event.target.closest("form");
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { check(form); }, DELAY_MS));
  }
  document.addEventListener("input", later);
  document.addEventListener("change", later);

  // The action panels are replaced by htmx after each step: equip the new forms too.
  document.addEventListener("htmx:afterSettle", function () { equip(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { equip(document); });
  } else {
    equip(document);
  }
})();

// Keyboard-driven labelling. Loaded as a static file: the Content-Security-Policy
// forbids inline scripts, so all behaviour lives here.
(function () {
  "use strict";

  function labelForm() {
    return document.querySelector("#label-card form.label-form");
  }

  function typingIn(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") return true;
    if (tag === "input") {
      var type = (target.getAttribute("type") || "text").toLowerCase();
      return ["radio", "checkbox", "button", "submit", "hidden"].indexOf(type) === -1;
    }
    return target.isContentEditable;
  }

  function focusCard() {
    var form = labelForm();
    var card = document.getElementById("label-card");
    if (!card) return;
    var current = document.getElementById("current-claim");
    if (current && current.scrollIntoView) {
      current.scrollIntoView({ block: "center", behavior: "auto" });
    }
    if (!form) {
      var link = card.querySelector("a.button, button");
      if (link) link.focus();
      return;
    }
    var target = form.querySelector("input[name=confidence]:checked") ||
      form.querySelector("input[name=confidence]") || form.querySelector("button[type=submit]");
    if (target) target.focus({ preventScroll: true });
  }

  // Press the form's own button rather than requestSubmit(button): htmx sends
  // the name/value of the button it saw clicked, so a submit without a click
  // would post no action and a skip would be saved as a label.
  function pressButton(form, action) {
    var button = form.querySelector("button[name=action][value=" + action + "]");
    if (button && !button.disabled) button.click();
  }

  function addSourceRow(button) {
    var fieldset = button.closest("fieldset");
    var rows = fieldset.querySelectorAll(".source-row");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    var n = rows.length + 1;
    copy.querySelectorAll("input, select").forEach(function (element) {
      if (element.tagName.toLowerCase() === "select") element.selectedIndex = 0;
      else element.value = "";
    });
    copy.querySelectorAll("[id]").forEach(function (element) {
      element.id = element.id.replace(/-\d+$/, "-" + n);
    });
    copy.querySelectorAll("label[for]").forEach(function (label) {
      label.htmlFor = label.htmlFor.replace(/-\d+$/, "-" + n);
    });
    var input = copy.querySelector("input[name=source]");
    if (input) input.placeholder = "Source " + n;
    last.after(copy);
    if (window.htmx) window.htmx.process(copy);
    if (input) input.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.add-source");
    if (button) {
      event.preventDefault();
      addSourceRow(button);
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = labelForm();
    if (!form || event.altKey || event.metaKey) return;
    var target = event.target;
    if (event.key === "Enter") {
      if (target.tagName && target.tagName.toLowerCase() === "textarea") {
        if (event.ctrlKey) {
          event.preventDefault();
          pressButton(form, "save");
        }
        return;
      }
      var tag = target.tagName ? target.tagName.toLowerCase() : "";
      if (tag === "button" || tag === "a" || tag === "select") return;
      event.preventDefault();
      pressButton(form, "save");
      return;
    }
    if (event.ctrlKey || typingIn(target)) return;
    if (/^[1-9]$/.test(event.key)) {
      var radios = form.querySelectorAll("input[name=confidence]");
      var radio = radios[Number(event.key) - 1];
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        radio.focus();
      }
    } else if (event.key === "s") {
      event.preventDefault();
      pressButton(form, "skip");
    } else if (event.key === "b") {
      var back = document.querySelector("#label-card a[data-key=b]");
      if (back) {
        event.preventDefault();
        back.click();
      }
    }
  });

  document.addEventListener("DOMContentLoaded", focusCard);
  document.addEventListener("htmx:afterSettle", function (event) {
    // Only a new claim card takes the focus; a refreshed source list must not.
    if (event.target && event.target.id === "label-card") focusCard();
  });
})();

/* trunkadmin self-serve: small progressive enhancements. Every page works without this file.
   - the register form shows call-only settings (direction, SIP) only when the channel is Call,
     and WhatsApp settings only when it is WhatsApp, and disables the others so they are not sent;
   - the default trunk name follows the number and channel typed (placeholder only);
   - copy buttons copy a newly created API token and the carrier panel's values;
   - an error summary takes focus so screen readers announce it and keyboard users start there;
   - "Check now" says it is checking and cannot be pressed twice while the check runs. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function checkedValue(form, name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : "";
  }

  function enhanceTrunkForm(form) {
    var callOnly = form.querySelectorAll("[data-call-only]");
    var whatsappOnly = form.querySelectorAll("[data-whatsapp-only]");
    var nameInput = form.querySelector("[data-default-name]");
    var numberInput = form.querySelector('input[name="phone_number"]');

    function update() {
      var channel = checkedValue(form, "channel") || "call";
      function showFor(sections, shown) {
        sections.forEach(function (section) {
          section.hidden = !shown;
          section.querySelectorAll("input, select, textarea").forEach(function (input) {
            input.disabled = !shown;
          });
        });
      }
      showFor(callOnly, channel === "call");
      showFor(whatsappOnly, channel === "whatsapp");
      if (nameInput && numberInput) {
        var digits = (numberInput.value || "").replace(/\D/g, "");
        nameInput.placeholder = channel + "_trunk_" + (digits || "<digits>");
      }
    }

    form.addEventListener("change", update);
    if (numberInput) {
      numberInput.addEventListener("input", update);
    }
    update();
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var scratch = document.createElement("textarea");
      scratch.value = text;
      scratch.setAttribute("readonly", "");
      scratch.className = "visually-hidden";
      document.body.appendChild(scratch);
      scratch.select();
      var ok = document.execCommand && document.execCommand("copy");
      document.body.removeChild(scratch);
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  function selectContents(element) {
    if (typeof element.select === "function") {
      element.focus();
      element.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // A copy button (`data-copy` names its source: an input, or an element whose text is the value;
  // `data-copy-status` its live region, `data-copy-what` what it copies). Without script the
  // button stays hidden and the value is plain selectable text.
  function enhanceCopyButton(button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    var status = document.querySelector(button.getAttribute("data-copy-status") || "[data-copy-status]");
    var what = button.getAttribute("data-copy-what") || "token";
    if (!source) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.value !== undefined ? source.value : source.textContent.trim();
      copyText(text).then(
        function () {
          button.textContent = "Copied";
          window.setTimeout(function () {
            button.textContent = label;
          }, 2000);
          if (status) {
            status.textContent = what.charAt(0).toUpperCase() + what.slice(1) + " copied to the clipboard.";
          }
        },
        function () {
          selectContents(source);
          if (status) {
            status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected " + what + ".";
          }
        }
      );
    });
  }

  function enhanceTrunkCheck(form) {
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("aria-busy") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("aria-busy", "true");
      if (button) {
        button.setAttribute("aria-disabled", "true");
        button.textContent = button.getAttribute("data-checking-label") || button.textContent;
      }
    });
  }

  onReady(function () {
    document.querySelectorAll("[data-trunk-form]").forEach(enhanceTrunkForm);
    document.querySelectorAll("[data-trunk-check]").forEach(enhanceTrunkCheck);
    document.querySelectorAll("[data-copy]").forEach(enhanceCopyButton);
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () {
        input.select();
      });
    });
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  });
})();

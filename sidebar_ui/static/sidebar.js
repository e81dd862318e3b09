/* The agent sidebar's only script: no framework, no network but our own pages.
   - the SLA "left / overdue" line keeps counting while the page stays open;
   - the override button cannot be pressed twice;
   - the bootstrap page learns the ticket id (?ticket_id=, or a vendored Zendesk SDK);
   - inside Zendesk, the iframe is resized to the page;
   - a suggested article goes into the reply editor (Zendesk) or the clipboard. */
(function () {
  "use strict";

  function duration(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) return hours ? days + " d " + hours + " h" : days + " d";
    if (hours) return hours + " h " + (mins < 10 ? "0" : "") + mins + " min";
    return mins ? mins + " min" : "under a minute";
  }

  function tickSla() {
    var el = document.getElementById("sla-remaining");
    if (!el || !el.dataset.due) return;
    var due = Date.parse(el.dataset.due);
    if (isNaN(due)) return;
    var left = due - Date.now();
    el.textContent = left <= 0 ? "by " + duration(left) : duration(left);
    el.classList.toggle("late", left <= 0);
    var term = el.previousElementSibling;
    if (term) term.textContent = left <= 0 ? "Overdue" : "Left";
  }

  function guardForm() {
    var form = document.getElementById("override-form");
    var button = document.getElementById("override-submit");
    if (!form || !button) return;
    form.addEventListener("submit", function () {
      // Disabled after the submit event, so the browser still sends the form once.
      window.setTimeout(function () { button.disabled = true; button.textContent = "Saving…"; }, 0);
    });
  }

  function zafClient() {
    return window.ZAFClient && typeof window.ZAFClient.init === "function"
      ? window.ZAFClient.init() : null;
  }

  function bootstrap() {
    var box = document.getElementById("bootstrap");
    if (!box) return;
    var template = box.dataset.ticketUrl;
    function go(id) {
      if (id) window.location.replace(template.replace("__TICKET__", encodeURIComponent(id)));
    }
    function missing() {
      document.getElementById("bootstrap-status").textContent = "No ticket is open.";
      document.getElementById("bootstrap-missing").hidden = false;
    }
    var fromQuery = new URLSearchParams(window.location.search).get("ticket_id");
    if (fromQuery) return go(fromQuery);
    var client = zafClient();
    if (!client) return missing();
    client.get("ticket.id").then(function (data) {
      var id = data && data["ticket.id"];
      return id ? go(String(id)) : missing();
    }, missing);
  }

  function resize() {
    var client = zafClient();
    if (client && !document.getElementById("bootstrap")) {
      client.invoke("resize", { width: "100%", height: document.body.scrollHeight + "px" });
    }
  }

  function suggestions() {
    var client = document.getElementById("bootstrap") ? null : zafClient();
    Array.prototype.forEach.call(document.querySelectorAll("button[data-insert]"), function (b) {
      var text = b.dataset.insert;
      if (b.classList.contains("insert")) {
        // Only the helpdesk's own app framework can write into its reply editor.
        if (!client) return;
        b.hidden = false;
        b.addEventListener("click", function () {
          // The editor takes HTML: the article's text is escaped, its line breaks kept.
          var html = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
          client.invoke("ticket.editor.insert", html.replace(/\n/g, "<br>"));
          b.textContent = "Inserted";
        });
        return;
      }
      b.addEventListener("click", function () {
        if (!navigator.clipboard) { b.textContent = "Select the text to copy"; return; }
        navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; },
          function () { b.textContent = "Copy not allowed here"; });
      });
    });
  }

  tickSla();
  window.setInterval(tickSla, 30000);
  suggestions();
  guardForm();
  bootstrap();
  resize();
})();

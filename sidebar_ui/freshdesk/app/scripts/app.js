/*
 * Escalade for Freshdesk (platform 3.0, ticket sidebar).
 *
 * The sidebar is opened through the request template "escaladeSidebar" (config/requests.json):
 * Freshworks' servers add the per-install secret from the secure iparam, so the secret never
 * reaches the browser. Escalade answers POST /sidebar/freshdesk/<tenant> with a redirect to
 * the ticket's sidebar page carrying a short-lived sidebar token, which the iframe then opens
 * directly on Escalade. Should the proxy have followed the redirect itself, the page's HTML is
 * shown instead, with a <base> pointing at Escalade so its styles and forms go there.
 */
(function () {
  "use strict";

  var statusEl = document.getElementById("escalade-status");
  var frame = document.getElementById("escalade-frame");

  function showStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.className = isError ? "status error" : "status";
    statusEl.hidden = false;
    frame.hidden = true;
  }

  function escapeAttr(value) {
    return String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  function withBase(html, baseUrl) {
    var base = '<base href="' + escapeAttr(baseUrl) + '">';
    if (/<head[^>]*>/i.test(html)) {
      return html.replace(/<head([^>]*)>/i, "<head$1>" + base);
    }
    return base + html;
  }

  function header(reply, name) {
    var headers = (reply && reply.headers) || {};
    for (var key in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === name) {
        return headers[key];
      }
    }
    return null;
  }

  function isRedirect(reply) {
    return reply && reply.status >= 300 && reply.status < 400 && header(reply, "location");
  }

  function show(reply, base) {
    var location = isRedirect(reply) ? header(reply, "location") : null;
    if (location) {
      frame.removeAttribute("srcdoc");
      frame.src = new URL(location, base).href;
    } else {
      frame.srcdoc = withBase(reply.response, base);
    }
    frame.hidden = false;
    statusEl.hidden = true;
  }

  function explain(err) {
    var status = err && err.status;
    if (status === 401) {
      return "Escalade refused the sidebar secret. Check the app settings against Escalade's admin UI.";
    }
    if (status === 403) {
      return "This Freshdesk account is connected to another Escalade workspace.";
    }
    if (status === 404) {
      return "Escalade does not know this workspace slug. Check the app settings.";
    }
    return "Escalade is not reachable right now" + (status ? " (HTTP " + status + ")." : ".");
  }

  function load(client) {
    showStatus("Loading Escalade…", false);
    Promise.all([
      client.data.get("ticket"),
      client.data.get("loggedInUser"),
      client.iparams.get("escalade_host")
    ]).then(function (results) {
      var ticket = results[0].ticket;
      var contact = (results[1].loggedInUser || {}).contact || {};
      var base = "https://" + results[2].escalade_host + "/";
      return client.request.invokeTemplate("escaladeSidebar", {
        context: { ticket_id: String(ticket.id), agent: contact.email || "" }
      }).then(function (reply) {
        show(reply, base);
      }, function (err) {
        // Some proxies report a redirect as a failed request: it is the expected answer.
        if (!isRedirect(err)) {
          throw err;
        }
        show(err, base);
      });
    }).catch(function (err) {
      showStatus(explain(err), true);
    });
  }

  app.initialized().then(function (client) {
    client.events.on("app.activated", function () {
      load(client);
    });
  }).catch(function () {
    showStatus("The Freshdesk app framework did not start.", true);
  });
})();

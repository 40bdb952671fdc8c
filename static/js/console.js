// The step console: live evidence over a websocket, commands sent without leaving the
// page, keyboard shortcuts. Works without it too: every action is a plain form.
(function () {
  "use strict";
  var consoleBox = document.getElementById("console");
  if (!consoleBox) { return; }
  var resultId = consoleBox.getAttribute("data-result");
  var running = consoleBox.getAttribute("data-running") === "1";
  var stateLabel = document.getElementById("stream-state");
  var tbody = document.querySelector("#frames tbody");
  // Set once this page submits one of its forms: a live "step" message must not reload the
  // page then, or the reload cancels the submission's own redirect (to the step acted on).
  var leaving = false;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function typing() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = value;
    return el;
  }

  function frameRow(frame) {
    var row = document.createElement("tr");
    row.id = "frame-" + frame.id;
    row.className = "fresh" + (frame.validation_error ? " frame-invalid" : "");
    row.appendChild(text("td", frame.at, "mono"));
    // The one spelling of a direction (chargers.models.Frame.Direction).
    var dir = text("td", frame.direction === "in" ? "charger → portal" : "portal → charger");
    row.appendChild(dir);
    row.appendChild(text("td", frame.action || "?"));
    var types = { 2: "CALL", 3: "CALLRESULT", 4: "CALLERROR" };
    row.appendChild(text("td", types[frame.message_type] || "invalid"));
    var cell = document.createElement("td");
    cell.appendChild(text("code", frame.raw.length > 300 ? frame.raw.substring(0, 299) + "…" : frame.raw, "frame-raw"));
    if (frame.validation_error) { cell.appendChild(text("div", frame.validation_error, "error")); }
    row.appendChild(cell);
    return row;
  }

  // Live evidence: frames of the running attempt appear as they are committed.
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + consoleBox.getAttribute("data-ws"));
    socket.onopen = function () { if (stateLabel) { stateLabel.textContent = running ? "live" : ""; } };
    socket.onclose = function () {
      if (stateLabel) { stateLabel.textContent = "reconnecting…"; }
      setTimeout(connect, 2000);
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "frames" && running && tbody) {
        data.frames.forEach(function (frame) {
          if (String(frame.step_result_id) !== resultId || document.getElementById("frame-" + frame.id)) { return; }
          var empty = tbody.querySelector(".empty-row");
          if (empty) { empty.remove(); }
          tbody.appendChild(frameRow(frame));
        });
      } else if (data.type === "step" && !typing() && !leaving) {
        // A step started or finished here or elsewhere (another engineer, the API).
        window.location.reload();
      }
    };
  }
  // Only an engineer on an open run listens: a reader (a manufacturer's user, a closed run)
  // gets no socket, rather than a refused one retried forever.
  if (consoleBox.getAttribute("data-ws")) { connect(); }

  // Any form but a command leaves the page (commands cancel their submit event below).
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) { leaving = true; }
  });

  function submit(form) {
    leaving = true;
    form.submit();  // submit() fires no submit event
  }

  // Commands: sent with fetch, the answer shown next to the button.
  document.querySelectorAll("form.command").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var output = form.querySelector(".command-result");
      var action = form.getAttribute("data-action") || form.querySelector("[name=action]").value;
      var payload;
      try {
        payload = JSON.parse(form.querySelector("[name=payload]").value || "{}");
      } catch (error) {
        output.textContent = "Payload is not valid JSON: " + error.message;
        output.className = "command-result error";
        return;
      }
      var invalid = form.querySelector("[name=deliberately_invalid]");
      var button = form.querySelector("button");
      button.disabled = true;
      output.className = "command-result";
      output.textContent = "sending " + action + "…";
      fetch(consoleBox.getAttribute("data-command-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ action: action, payload: payload, deliberately_invalid: invalid ? invalid.checked : false })
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (reply) {
        var body = reply.body;
        if (!reply.ok) {
          output.textContent = body.error;
          output.className = "command-result error";
        } else if (body.status === "answered") {
          output.textContent = JSON.stringify(body.response) + " (" + body.round_trip_ms + " ms)";
          output.className = "command-result ok";
        } else {
          output.textContent = body.status_display + (body.error ? ": " + body.error : "");
          output.className = "command-result error";
        }
      }).catch(function () {
        output.textContent = "The portal did not answer; check the connection.";
        output.className = "command-result error";
      }).then(function () { button.disabled = false; });
    });
  });

  // Keyboard: s start, f finish, j/k next/previous step, Ctrl+Enter saves the verdict.
  var links = Array.prototype.slice.call(document.querySelectorAll("[data-step-link]"));
  var current = links.findIndex(function (a) { return a.parentElement.classList.contains("current"); });
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var decision = document.getElementById("decision-form");
      if (decision && decision.contains(document.activeElement)) { event.preventDefault(); submit(decision); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing()) { return; }
    var form = null;
    if (event.key === "s") { form = document.getElementById("start-form"); }
    if (event.key === "f") { form = document.getElementById("finish-form"); }
    if (form) {
      var button = form.querySelector("button");
      if (button && !button.disabled) { event.preventDefault(); submit(form); }
      return;
    }
    if ((event.key === "j" || event.key === "k") && links.length) {
      var next = current + (event.key === "j" ? 1 : -1);
      if (next >= 0 && next < links.length) { window.location.href = links[next].href; }
    }
  });
})();

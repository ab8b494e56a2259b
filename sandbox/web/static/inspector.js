// /docs/webhooks: the live webhook inspector of the visitor's personal sandbox (personal.js).
//
// Events and delivery attempts are pushed: the page reads the sandbox's event stream
// (GET /_sandbox/events/stream?deliveries=true, server-sent events read with fetch so the key travels
// in the Authorization header, never in a URL) and resumes it with Last-Event-ID when it drops. On
// load it asks for the attempts already made (GET /_sandbox/webhooks/deliveries) and the last events
// the stream still holds (backlog). Nothing is polled.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sandbox-config").textContent);
  var personal = window.ealPersonalSandbox;
  var $ = function (id) { return document.getElementById(id); };
  var picker = $("sandbox-key"), badge = $("sandbox-id"), list = $("events"), detail = $("event-detail");
  var FINAL = {sandbox_deleted: true, sandbox_expired: true};
  var state = {sandbox: null, names: {}, events: {}, order: [], attempts: {}, selected: null, lastEventId: null,
               controller: null, retryMs: 2000, failures: 0};
  var listenerId = "inspector-" + Math.random().toString(36).slice(2, 12);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function key() { return picker.value; }
  function authHeaders(token) { return {Authorization: "Bearer " + (token || key())}; }
  function setStatus(text, stream) {
    $("stream-status").textContent = text;
    document.body.setAttribute("data-stream", stream);
  }
  function say(text) { $("notice").textContent = text; }

  // Keys of the event's own organization act on it (replays are per organization).
  function keyOf(orgId) {
    var own = state.sandbox.keys.filter(function (k) { return k.organization_id === orgId && k.scopes.indexOf("write") >= 0; });
    return own.length ? own[own.length - 1].token : key();
  }

  // The stream ----------------------------------------------------------------------------------------

  function connect() {
    if (state.controller) { state.controller.abort(); }
    var controller = state.controller = new AbortController();
    var headers = authHeaders();
    var url = config.stream_url + "?deliveries=true&listener_id=" + listenerId;
    if (state.lastEventId) { headers["Last-Event-ID"] = state.lastEventId; } else { url += "&backlog=50"; }
    setStatus("connecting\u2026", "connecting");
    fetch(url, {headers: headers, signal: controller.signal, cache: "no-store"}).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) {
          throw new Error("HTTP " + response.status + ": " + ((body.error || {}).message || "refused"));
        });
      }
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return reconnectLater("the stream ended"); }
          buffer += decoder.decode(chunk.value, {stream: true}).replace(/\r\n?/g, "\n");
          var blocks = buffer.split("\n\n");
          buffer = blocks.pop();
          blocks.forEach(handleBlock);
          return pump();
        });
      }
      return pump();
    }).catch(function (error) {
      if (controller.signal.aborted) { return; }
      reconnectLater(String(error.message || error));
    });
  }

  function reconnectLater(why) {
    if (document.body.getAttribute("data-stream") === "ended") { return; }
    state.failures += 1;
    var wait = Math.min(30000, state.retryMs * Math.pow(2, Math.max(0, state.failures - 1)));
    setStatus("reconnecting in " + Math.round(wait / 1000) + " s (" + why + ")", "reconnecting");
    setTimeout(connect, wait);
  }

  function handleBlock(block) {
    var message = {event: "message", data: [], id: null};
    block.split("\n").forEach(function (line) {
      if (line.charAt(0) === ":") { document.body.setAttribute("data-keepalive", String(Date.now())); return; }
      var colon = line.indexOf(":"), name = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "data") { message.data.push(value); }
      else if (name === "event") { message.event = value; }
      else if (name === "id") { message.id = value; }
      else if (name === "retry" && /^\d+$/.test(value)) { state.retryMs = Number(value); }
    });
    if (!message.data.length) { return; }
    var data = message.data.join("\n");
    if (message.event === "ready") { onReady(JSON.parse(data)); }
    else if (message.event === "webhook") { state.lastEventId = message.id; onEvent(data); }
    else if (message.event === "delivery") { onAttempt(JSON.parse(data)); }
    else if (message.event === "gap") { say("\u26a0 " + JSON.parse(data).message); }
    else if (message.event === "end") { onEnd(JSON.parse(data)); }
  }

  function onReady(ready) {
    state.failures = 0;
    $("listener-secret").textContent = ready.signing_secret;
    setStatus("live \u00b7 " + ready.sandbox_id, "live");
  }

  function onEnd(end) {
    if (FINAL[end.reason]) {
      setStatus(end.message + " \u2014 reload the page for a new sandbox", "ended");
      if (state.controller) { state.controller.abort(); }
    } else {
      setStatus(end.message, "reconnecting");
    }
  }

  function onEvent(raw) {
    var event = JSON.parse(raw), known = state.events[event.id];
    if (known) {
      known.seen += 1;  // a replay: the same event, delivered again
      state.order.splice(state.order.indexOf(event.id), 1);
    } else {
      state.events[event.id] = {event: event, raw: raw, seen: 1};
    }
    state.order.unshift(event.id);
    renderList();
    if (state.selected === event.id) { renderDetail(); }
  }

  function onAttempt(attempt) {
    state.attempts[attempt.id] = attempt;
    renderList();
    if (state.selected === attempt.event_id) { renderDetail(); }
  }

  // Rendering ---------------------------------------------------------------------------------------

  function attemptsOf(eventId) {
    return Object.keys(state.attempts).map(function (id) { return state.attempts[id]; })
      .filter(function (a) { return a.event_id === eventId; })
      .sort(function (a, b) { return a.attempted_at < b.attempted_at ? -1 : a.attempted_at > b.attempted_at ? 1 : a.attempt - b.attempt; });
  }

  function summary(eventId) {
    var attempts = attemptsOf(eventId);
    if (!attempts.length) { return "no subscription attempt (listeners only)"; }
    var last = attempts[attempts.length - 1];
    return attempts.length + (attempts.length === 1 ? " attempt" : " attempts") + " \u00b7 " + last.status +
      (last.response_status ? " (" + last.response_status + ")" : "");
  }

  function renderList() {
    list.innerHTML = "";
    state.order.forEach(function (id) {
      var item = state.events[id], event = item.event;
      var row = el("li", {"data-event-id": id, "data-type": event.type, "class": id === state.selected ? "selected" : ""}, [
        el("span", {"class": "type", text: event.type}),
        el("code", {text: id}),
        el("span", {"class": "org", text: state.names[event.organization_id] || event.organization_id}),
        el("span", {"class": "status", text: summary(id) + (item.seen > 1 ? " \u00b7 sent " + item.seen + "\u00d7" : "")}),
        el("time", {text: event.created_at})]);
      row.addEventListener("click", function () { state.selected = id; renderList(); renderDetail(); });
      list.appendChild(row);
    });
    $("event-count").textContent = state.order.length + " events";
  }

  function headerTable(headers) {
    return el("table", {"class": "headers"}, Object.keys(headers).map(function (name) {
      return el("tr", {}, [el("th", {text: name}), el("td", {text: headers[name]})]);
    }));
  }

  function attemptItem(attempt) {
    var parts = ["#" + attempt.attempt, attempt.status, attempt.response_status ? "HTTP " + attempt.response_status : "no answer",
                 attempt.latency_ms + " ms", "at " + attempt.attempted_at];
    return el("li", {"class": "attempt", "data-delivery-id": attempt.id, "data-status": attempt.status}, [
      el("div", {"class": "line", text: parts.join(" \u00b7 ") + " \u2192 " + attempt.url}),
      attempt.error ? el("div", {"class": "error", text: "error: " + attempt.error}) : null,
      attempt.next_attempt_at ? el("div", {"class": "next", text: "next attempt at " + attempt.next_attempt_at}) : null,
      el("details", {}, [el("summary", {text: "request headers and the signed string"}), headerTable(attempt.request.headers),
        el("p", {text: "Signed string (HMAC-SHA256 with the subscription's secret → X-EAL-Signature):"}),
        el("pre", {"class": "signed-content", text: attempt.request.signed_content})])]);
  }

  function renderDetail() {
    var item = state.events[state.selected];
    if (!item) { detail.hidden = true; return; }
    detail.hidden = false;
    var event = item.event, attempts = attemptsOf(event.id);
    $("detail-title").textContent = event.type + " \u00b7 " + event.id;
    $("detail-meta").textContent = (state.names[event.organization_id] || event.organization_id) + " \u00b7 created " +
      event.created_at + (item.seen > 1 ? " \u00b7 sent " + item.seen + " times (replays keep the event id)" : "");
    $("payload").textContent = JSON.stringify(event, null, 2);
    $("raw-body").textContent = item.raw;
    var timeline = $("attempts");
    timeline.innerHTML = "";
    attempts.forEach(function (attempt) { timeline.appendChild(attemptItem(attempt)); });
    $("no-attempts").hidden = attempts.length > 0;
    $("verify-result").textContent = "";
  }

  // Actions -----------------------------------------------------------------------------------------

  function post(url, body, token) {
    return fetch(url, {method: "POST", headers: Object.assign({"Content-Type": "application/json"}, authHeaders(token)),
                       body: JSON.stringify(body || {})}).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error((answer.error || {}).message || ("HTTP " + response.status)); }
        return answer;
      });
    });
  }

  $("send-test-event").addEventListener("click", function () {
    var type = $("test-event-type").value;
    post(config.trigger_url, {event: type}).then(function (answer) {
      say("sent " + type + ": " + answer.events.map(function (e) { return e.type + " " + e.id; }).join(", "));
    }, function (error) { say("could not send " + type + ": " + error.message); });
  });

  $("replay").addEventListener("click", function () {
    var item = state.events[state.selected];
    if (!item) { return; }
    post(config.replay_url.replace("{event_id}", item.event.id), {}, keyOf(item.event.organization_id))
      .then(function (answer) { say("replayed " + item.event.id + " (to listeners, and to subscriptions: " + answer.deliveries_scheduled + ")"); },
            function (error) { say("could not replay: " + error.message); });
  });

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  $("verify").addEventListener("click", function () {
    var secret = $("verify-secret").value.trim(), attempts = attemptsOf(state.selected), result = $("verify-result");
    if (!attempts.length) { result.textContent = "no attempt to verify: this event reached listeners only"; return; }
    if (!window.crypto || !window.crypto.subtle) { result.textContent = "this browser has no Web Crypto here (https or localhost needed)"; return; }
    var attempt = attempts[attempts.length - 1], encoder = new TextEncoder();
    window.crypto.subtle.importKey("raw", encoder.encode(secret), {name: "HMAC", hash: "SHA-256"}, false, ["sign"])
      .then(function (cryptoKey) { return window.crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(attempt.request.signed_content)); })
      .then(function (mac) {
        var digest = hex(mac), headers = attempt.request.headers;
        var previous = (headers["X-EAL-Signature-Previous"] || "").split(",");
        result.textContent = digest === headers["X-EAL-Signature"] ? "\u2713 matches X-EAL-Signature of attempt #" + attempt.attempt
          : previous.indexOf(digest) >= 0 ? "\u2713 matches X-EAL-Signature-Previous (a secret from before the rotation)"
          : "\u2717 no match: HMAC-SHA256 is " + digest;
      });
  });

  // Start -------------------------------------------------------------------------------------------

  function load(sandbox) {
    state.sandbox = sandbox;
    state.names = personal.fillPicker(picker, sandbox, function (k) { return k.scopes.indexOf("admin") >= 0; });
    badge.textContent = sandbox.id + (sandbox.expires_at ? " \u00b7 expires " + sandbox.expires_at : "");
    document.body.setAttribute("data-sandbox-id", sandbox.id);
    state.events = {}; state.order = []; state.attempts = {}; state.selected = null; state.lastEventId = null;
    renderList(); renderDetail();
    fetch(config.deliveries_url + "?limit=200", {headers: authHeaders()}).then(function (response) {
      return response.ok ? response.json() : {data: []};
    }).then(function (page) {
      page.data.forEach(function (attempt) { state.attempts[attempt.id] = attempt; });
      renderList();
      connect();
    });
  }

  function start(fresh) {
    setStatus("minting your sandbox\u2026", "connecting");
    personal.obtain(config.sandboxes_url, fresh).then(load, function (error) { badge.textContent = String(error); });
  }

  picker.addEventListener("change", function () { state.lastEventId = null; load(state.sandbox); });
  $("sandbox-new").addEventListener("click", function () { start(true); });
  start(false);
})();

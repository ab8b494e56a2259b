"""``/docs/webhooks``: the live webhook inspector of the visitor's personal sandbox.

The page (``static/inspector.js``) reads the sandbox's event stream with the delivery attempts
pushed along (``GET /_sandbox/events/stream?deliveries=true``), lists every event and every attempt
as they happen, shows each event's payload, each attempt's headers, the exact string that was signed,
its error and next attempt, verifies a signature with a secret pasted in (Web Crypto, in the
browser), replays an event and sends a test event of any type (``POST /_sandbox/trigger``). Like
``/docs``, the HTML carries no key: the personal sandbox lives in the browser's storage.
"""

from __future__ import annotations

INSPECTOR_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }} · Webhooks inspector</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/docs.css">
  <link rel="stylesheet" href="/docs/assets/inspector.css">
</head>
<body class="inspector">
  <header class="sandbox-bar">
    <strong>{{ title }}</strong> <span class="badge">test mode · no real side effects</span>
    <span id="sandbox-id" class="sandbox-id" title="Your personal sandbox">minting your sandbox…</span>
    <button id="sandbox-new" type="button" title="Forget this sandbox and mint a fresh one">New sandbox</button>
    <a href="/docs">API reference</a>
    <label>Sandbox key <select id="sandbox-key"></select></label>
  </header>
  <main class="inspector-main">
    <aside class="panel">
      <h1>Webhooks inspector</h1>
      <p>Every event of your sandbox and every delivery attempt, as they happen (pushed over
        <code>GET /_sandbox/events/stream</code>; nothing is polled).</p>
      <p class="stream">Stream: <span id="stream-status">connecting…</span></p>
      <h2>Send a test event</h2>
      <p><select id="test-event-type">{% for type in event_types %}<option>{{ type }}</option>{% endfor %}</select>
        <button id="send-test-event" type="button">Send test event</button></p>
      <p class="hint">Makes the real state behind the event (<code>POST /_sandbox/trigger</code>) for the key's
        organization.</p>
      <h2>Listener secret</h2>
      <p><code id="listener-secret">…</code></p>
      <p class="hint"><code>eal-sandbox listen --forward-to http://localhost:3000/webhooks</code> signs what it
        forwards with it.</p>
      <p id="notice" class="notice" role="status"></p>
      <h2 id="event-count">0 events</h2>
      <ol id="events" class="events"></ol>
    </aside>
    <section id="event-detail" class="detail" hidden>
      <h2 id="detail-title"></h2>
      <p id="detail-meta" class="hint"></p>
      <p><button id="replay" type="button">Replay this event</button>
        <span class="hint">same event id, fresh timestamp and signature, to every subscription and listener</span></p>
      <h3>Delivery attempts</h3>
      <p id="no-attempts" class="hint">No subscription got this event (listeners still did). Register one with
        <code>POST /api/v1/webhooks</code> to see attempts here.</p>
      <ol id="attempts" class="attempts"></ol>
      <h3>Payload</h3>
      <pre id="payload"></pre>
      <h3>How to verify</h3>
      <p>The raw body below is what was sent, byte for byte. <code>X-EAL-Signature</code> is the lowercase hex
        HMAC-SHA256, under your subscription's <code>whsec_…</code> secret, of
        <code>{X-EAL-Timestamp}.{raw body}</code>: each attempt above shows that exact string. Refuse
        timestamps more than 5 minutes from your clock; during the 24 h after a rotation also accept a match in
        <code>X-EAL-Signature-Previous</code>. In Python: <code>from sandbox import verify_signature;
        verify_signature(raw_body, headers, "whsec_…")</code>.</p>
      <pre id="raw-body" class="raw"></pre>
      <p><input id="verify-secret" type="text" placeholder="whsec_… (stays in this page)" size="44">
        <button id="verify" type="button">Verify the last attempt</button> <span id="verify-result"></span></p>
    </section>
  </main>
  <script id="sandbox-config" type="application/json">{{ config | tojson }}</script>
  <script src="/docs/assets/personal.js"></script>
  <script src="/docs/assets/inspector.js"></script>
</body>
</html>
"""

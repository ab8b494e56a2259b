// The sandbox's Swagger UI: every visitor gets a personal sandbox, and "Try it out" calls it. The
// top bar switches between the two served documents: the v1 API and the sandbox's control plane.
//
// On the first visit the page mints a sandbox (POST /_sandbox/sandboxes) and keeps it in the
// browser's storage; on later visits it checks the kept one is still alive (GET
// /_sandbox/sandboxes/current) and mints a new one once it has expired or was deleted. The key
// picker lists only that sandbox's keys; the first location's admin key is pre-selected.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sandbox-config").textContent);
  var picker = document.getElementById("sandbox-key");
  var badge = document.getElementById("sandbox-id");
  var STORAGE = "eal-sandbox/personal";
  var uiReady = false, sandboxReady = false;

  function kept() {
    try { return JSON.parse(window.localStorage.getItem(STORAGE) || "null"); } catch (e) { return null; }
  }

  function keep(sandbox) {
    try { window.localStorage.setItem(STORAGE, JSON.stringify(sandbox)); } catch (e) { /* private mode */ }
  }

  function readKey(sandbox) {
    return sandbox.keys.find(function (key) { return key.scopes.length === 1; }).token;
  }

  function mint() {
    return fetch(config.sandboxes_url, {method: "POST"}).then(function (response) {
      if (!response.ok) { throw new Error("could not mint a sandbox: HTTP " + response.status); }
      return response.json();
    }).then(function (sandbox) { keep(sandbox); return sandbox; });
  }

  function personalSandbox() {
    var sandbox = kept();
    if (!sandbox || !sandbox.keys || !sandbox.keys.length) { return mint(); }
    return fetch(config.sandboxes_url + "/current", {headers: {Authorization: "Bearer " + readKey(sandbox)}})
      .then(function (response) {
        if (!response.ok) { return mint(); }  // expired or deleted: its keys are 401 now
        return response.json().then(function (current) {
          sandbox.expires_at = current.expires_at;
          keep(sandbox);
          return sandbox;
        });
      });
  }

  function choose(sandbox) {
    var names = {};
    sandbox.keys.forEach(function (key) { names[key.organization_id] = key.organization_name || key.organization_id; });
    picker.innerHTML = "";
    var location = sandbox.keys.find(function (key) { return key.parent_organization_id; });
    sandbox.keys.forEach(function (key) {
      var label = names[key.organization_id] + " \u00b7 " + key.scopes.join("+") + " \u00b7 " + key.token.slice(0, 18) + "\u2026";
      var preferred = location && key.organization_id === location.organization_id && key.scopes.indexOf("admin") >= 0;
      picker.add(new Option(label, key.token, false, preferred));
    });
    badge.textContent = sandbox.id + (sandbox.expires_at ? " \u00b7 expires " + sandbox.expires_at : "");
    document.body.setAttribute("data-sandbox-id", sandbox.id);
    sandboxReady = true;
    authorize();
  }

  // "Try it out" always calls the sandbox serving this page, whatever server the spec names.
  function toThisSandbox(request) {
    var target = new URL(request.url, window.location.href);
    if (target.origin !== window.location.origin) {
      request.url = window.location.origin + target.pathname + target.search;
    }
    return request;
  }

  function authorize() {
    if (!uiReady || !sandboxReady) { return; }
    if (config.security_scheme && picker.value) {
      ui.preauthorizeApiKey(config.security_scheme, picker.value);
    }
    document.body.setAttribute("data-sandbox-ready", "true");
  }

  // Switching documents loads a new spec, which forgets the authorization: apply it again.
  function reauthorizeOnNewSpec() {
    return {statePlugins: {spec: {wrapActions: {updateJsonSpec: function (original) {
      return function () {
        var result = original.apply(this, arguments);
        setTimeout(authorize, 0);
        return result;
      };
    }}}}};
  }

  var ui = SwaggerUIBundle({
    urls: config.documents,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [reauthorizeOnNewSpec],
    layout: "StandaloneLayout",
    deepLinking: true,
    displayOperationId: true,
    displayRequestDuration: true,
    docExpansion: "list",
    showExtensions: true,
    validatorUrl: null,
    requestInterceptor: toThisSandbox,
    onComplete: function () { uiReady = true; authorize(); },
  });

  function start(fresh) {
    document.body.removeAttribute("data-sandbox-ready");
    badge.textContent = "minting your sandbox\u2026";
    (fresh ? mint() : personalSandbox()).then(choose, function (error) { badge.textContent = String(error); });
  }

  picker.addEventListener("change", authorize);
  document.getElementById("sandbox-new").addEventListener("click", function () { start(true); });
  start(false);
  window.sandboxDocs = ui;
})();

// The sandbox's Swagger UI: every visitor gets a personal sandbox (personal.js), and "Try it out"
// calls it. The top bar switches between the two served documents: the v1 API and the sandbox's
// control plane. The key picker lists only that sandbox's keys; the first location's admin key is
// pre-selected.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sandbox-config").textContent);
  var picker = document.getElementById("sandbox-key");
  var badge = document.getElementById("sandbox-id");
  var personal = window.ealPersonalSandbox;
  var uiReady = false, sandboxReady = false;

  function choose(sandbox) {
    personal.fillPicker(picker, sandbox);
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
    personal.obtain(config.sandboxes_url, fresh).then(choose, function (error) { badge.textContent = String(error); });
  }

  picker.addEventListener("change", authorize);
  document.getElementById("sandbox-new").addEventListener("click", function () { start(true); });
  start(false);
  window.sandboxDocs = ui;
})();

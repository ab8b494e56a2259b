// The sandbox's Swagger UI: the v1 API and the control plane (switchable in the top bar),
// pre-authorized with a sandbox key, every call to this sandbox.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sandbox-config").textContent);
  var picker = document.getElementById("sandbox-key");

  config.keys.forEach(function (key) {
    var label = key.organization + " \u00b7 " + key.scopes.join("+") + " \u00b7 " + key.token.slice(0, 18) + "\u2026";
    picker.add(new Option(label, key.token, false, key.token === config.default_key));
  });

  // "Try it out" always calls the sandbox serving this page, whatever server the spec names.
  function toThisSandbox(request) {
    var target = new URL(request.url, window.location.href);
    if (target.origin !== window.location.origin) {
      request.url = window.location.origin + target.pathname + target.search;
    }
    return request;
  }

  function authorize() {
    if (config.security_scheme && picker.value) {
      ui.preauthorizeApiKey(config.security_scheme, picker.value);
    }
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
    onComplete: function () {
      authorize();
      document.body.setAttribute("data-sandbox-ready", "true");
    },
  });
  picker.addEventListener("change", authorize);
  window.sandboxDocs = ui;
})();

// The visitor's personal sandbox, shared by /docs and /docs/webhooks: minted on the first visit
// (POST /_sandbox/sandboxes), kept in the browser's storage under "eal-sandbox/personal", checked on
// later visits (GET /_sandbox/sandboxes/current) and minted again once it has expired or was deleted.
(function () {
  "use strict";
  var STORAGE = "eal-sandbox/personal";

  function kept() {
    try { return JSON.parse(window.localStorage.getItem(STORAGE) || "null"); } catch (e) { return null; }
  }

  function keep(sandbox) {
    try { window.localStorage.setItem(STORAGE, JSON.stringify(sandbox)); } catch (e) { /* private mode */ }
  }

  function readKey(sandbox) {
    return sandbox.keys.find(function (key) { return key.scopes.length === 1; }).token;
  }

  function mint(sandboxesUrl) {
    return fetch(sandboxesUrl, {method: "POST"}).then(function (response) {
      if (!response.ok) { throw new Error("could not mint a sandbox: HTTP " + response.status); }
      return response.json();
    }).then(function (sandbox) { keep(sandbox); return sandbox; });
  }

  // The kept sandbox while it lives, else a new one; fresh: a new one now.
  function obtain(sandboxesUrl, fresh) {
    var sandbox = kept();
    if (fresh || !sandbox || !sandbox.keys || !sandbox.keys.length) { return mint(sandboxesUrl); }
    return fetch(sandboxesUrl + "/current", {headers: {Authorization: "Bearer " + readKey(sandbox)}})
      .then(function (response) {
        if (!response.ok) { return mint(sandboxesUrl); }  // expired or deleted: its keys are 401 now
        return response.json().then(function (current) {
          sandbox.expires_at = current.expires_at;
          keep(sandbox);
          return sandbox;
        });
      });
  }

  // Fill a <select> with the sandbox's keys (only those `accept` takes), the first location's admin key chosen.
  function fillPicker(picker, sandbox, accept) {
    var names = {};
    sandbox.keys.forEach(function (key) { names[key.organization_id] = key.organization_name || key.organization_id; });
    picker.innerHTML = "";
    var location = sandbox.keys.find(function (key) { return key.parent_organization_id; });
    sandbox.keys.filter(accept || function () { return true; }).forEach(function (key) {
      var label = names[key.organization_id] + " \u00b7 " + key.scopes.join("+") + " \u00b7 " + key.token.slice(0, 18) + "\u2026";
      var preferred = location && key.organization_id === location.organization_id && key.scopes.indexOf("admin") >= 0;
      picker.add(new Option(label, key.token, false, preferred));
    });
    return names;
  }

  window.ealPersonalSandbox = {obtain: obtain, fillPicker: fillPicker, storageKey: STORAGE};
})();

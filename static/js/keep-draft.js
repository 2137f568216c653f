/*
 * Nothing typed is lost at an idle sign-out (clinic/drafts.py, clinic/session_views.py).
 *
 * - While the person is working (typing, clicking, scrolling) the session is kept alive; an
 *   unattended page is not, so the idle sign-out still protects an abandoned desk.
 * - Before an idle sign-out a dialog counts down, with "Stay signed in".
 * - The fields of every form[data-keep-draft] are kept on the server a few seconds after they
 *   change and just before the sign-out; when the server cannot take them (already signed out),
 *   in this tab's sessionStorage instead.
 * - Signed out, the page goes to sign-in with ?next= this page; after signing in, the form asks for
 *   its draft and fills itself in, with a notice and a "Discard" button.
 *
 * Timings come from <body data-idle-seconds data-idle-warning>; no inline script (CSP).
 */
(function () {
  "use strict";

  var body = document.body;
  var idleSeconds = Number(body.dataset.idleSeconds || 0);
  if (!idleSeconds) return; // not signed in
  // The server's idle clock starts when it gets a request, ours when the answer comes, so the
  // server's session ends a little before ours. The page goes to sign-in a moment after (so the
  // session is surely over there), and a form is not sent in the last moments before (it would
  // land on sign-in): it is kept and the sign-in brings it back instead.
  var AFTER_END = 2000;
  var BEFORE_END = Math.min(5000, idleSeconds * 100);

  var warnSeconds = Math.min(Number(body.dataset.idleWarning || 120), idleSeconds / 2);
  // How often a working person's activity renews the session, and how soon a change is kept.
  var pingEvery = Math.max(1, Math.min(60, idleSeconds / 4)) * 1000;
  var keepEvery = Math.max(1, Math.min(10, idleSeconds / 6)) * 1000;
  var urls = {
    keepAlive: body.dataset.keepAliveUrl,
    draft: body.dataset.draftUrl,
    discard: body.dataset.draftDiscardUrl,
    login: body.dataset.loginUrl,
  };
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-keep-draft]"));
  var page = location.pathname;
  var localKey = "kept-draft:" + page;

  var lastContact = Date.now(); // the page itself was a request
  var lastActivity = 0;
  var changedAt = 0;
  var keptAt = 0;
  var submitting = false;
  var signedOut = false;
  var inFlight = null;
  var dialog = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function post(url, body, type) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual", // signed out: the login redirect is a failure, not a page to parse
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": type, Accept: "application/json" },
      body: body,
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      lastContact = Date.now();
      return response.json();
    });
  }

  function fieldsOf(form) {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "csrfmiddlewaretoken" && name !== "client_token") {
        pairs.push([name, value]);
      }
    });
    return pairs;
  }

  function draftFields() {
    return forms.reduce(function (all, form) { return all.concat(fieldsOf(form)); }, []);
  }

  function forgetLocally() {
    try { sessionStorage.removeItem(localKey); } catch (e) { /* storage off */ }
  }

  function keepLocally(fields) {
    try {
      sessionStorage.setItem(localKey, JSON.stringify({ fields: fields, saved_at: new Date().toISOString() }));
    } catch (e) { /* storage full or off: the server copy is all there is */ }
  }

  // Keep the forms' fields: on the server, or in this tab when the server will not take them.
  function keepDraft() {
    // One at a time, and never once the form is being saved (the save itself forgets the draft).
    if (!forms.length || changedAt <= keptAt || submitting) return Promise.resolve();
    if (inFlight) return inFlight;
    var fields = draftFields();
    var started = Date.now();
    // The form's one-time token: a late keep of a form already saved is ignored by the server.
    var token = forms[0].querySelector("input[name=client_token]");
    var sent = { path: page, fields: fields, token: token ? token.value : "" };
    inFlight = post(urls.draft, JSON.stringify(sent), "application/json").then(
      function () {
        keptAt = started;
        forgetLocally();
        setStatus("Draft kept " + new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
      },
      function () {
        keepLocally(fields);
        setStatus("Draft kept in this tab");
      }
    ).then(function () { inFlight = null; });
    return inFlight;
  }

  function keepAlive() {
    return post(urls.keepAlive, "", "text/plain").then(function () { hideWarning(); }, function () {});
  }

  function setStatus(text) {
    forms.forEach(function (form) {
      var status = form.querySelector(".draft-status");
      if (!status) {
        status = document.createElement("p");
        status.className = "draft-status muted";
        status.setAttribute("role", "status");
        form.appendChild(status);
      }
      status.textContent = text;
    });
  }

  function showWarning(remaining) {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "idle-warning";
      dialog.setAttribute("aria-labelledby", "idle-warning-title");
      var title = document.createElement("h2");
      title.id = "idle-warning-title";
      title.textContent = "Still there?";
      var text = document.createElement("p");
      text.className = "idle-warning-text";
      var stay = document.createElement("button");
      stay.type = "button";
      stay.className = "button primary";
      stay.textContent = "Stay signed in";
      stay.addEventListener("click", function () { lastActivity = Date.now(); keepAlive(); });
      dialog.append(title, text, stay);
      document.body.appendChild(dialog);
    }
    var seconds = Math.max(0, Math.ceil(remaining / 1000));
    var shown = seconds >= 60 ? Math.floor(seconds / 60) + " min " + (seconds % 60) + " s" : seconds + " s";
    dialog.querySelector(".idle-warning-text").textContent =
      "You will be signed out in " + shown + " because nothing has happened on this page." +
      (forms.length ? " Your text is kept and comes back when you sign in again." : "");
    if (!dialog.open) dialog.showModal();
  }

  function hideWarning() {
    if (dialog && dialog.open) dialog.close();
  }

  function signOut() {
    signedOut = true;
    var next = location.pathname + location.search;
    location.assign(urls.login + "?idle=1&next=" + encodeURIComponent(next));
  }

  function tick() {
    if (signedOut) return;
    var now = Date.now();
    // Keeping a draft is a request too, so it also keeps the session: then no separate keep-alive.
    if (changedAt > keptAt && now - changedAt >= keepEvery) keepDraft();
    else if (lastActivity > lastContact && now - lastContact >= pingEvery) keepAlive();
    var remaining = lastContact + idleSeconds * 1000 + AFTER_END - now;
    if (remaining <= 0) {
      keepDraft().then(signOut, signOut);
    } else if (remaining <= warnSeconds * 1000) {
      if (remaining <= 3000) keepDraft();
      showWarning(remaining);
    }
  }

  function activity() {
    lastActivity = Date.now();
  }

  ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, activity, { passive: true, capture: true });
  });

  forms.forEach(function (form) {
    form.addEventListener("input", function () { changedAt = Date.now(); activity(); });
    form.addEventListener("change", function () { changedAt = Date.now(); });
    form.addEventListener("submit", function (event) {
      if (Date.now() - lastContact >= idleSeconds * 1000 - BEFORE_END) {
        // Signed out by now (or about to be): posting would land on sign-in and drop the text.
        event.preventDefault();
        changedAt = Date.now();
        keepDraft().then(signOut, signOut);
        return;
      }
      submitting = true;
    });
  });

  // Leaving the page with unkept changes (closing the laptop, another link): keep them if possible.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && !submitting) keepDraft();
  });

  function fill(form, fields) {
    // Formset rows added in the browser must exist before their fields are filled (medications.js).
    form.dispatchEvent(new CustomEvent("keep-draft:restoring", { detail: { fields: fields } }));
    var byName = {};
    fields.forEach(function (pair) { (byName[pair[0]] = byName[pair[0]] || []).push(pair[1]); });
    var filled = 0;
    Array.prototype.forEach.call(form.elements, function (element) {
      var values = byName[element.name];
      // Hidden inputs (tokens, row ids, formset counts) stay as the server or the page's script set them.
      if (!element.name || element.type === "file" || element.type === "hidden") return;
      if (element.type === "checkbox" || element.type === "radio") {
        var on = !!values && values.indexOf(element.value) !== -1;
        if (element.checked !== on) { element.checked = on; filled += 1; }
      } else if (element.tagName === "SELECT" && element.multiple) {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = !!values && values.indexOf(option.value) !== -1;
        });
      } else if (values && values.length) {
        var value = values.shift();
        if (element.value !== value) { element.value = value; filled += 1; }
      }
    });
    return filled;
  }

  function announce(savedAt, onDiscard) {
    var notice = document.createElement("div");
    notice.className = "message info draft-restored";
    notice.setAttribute("role", "status");
    var when = new Date(savedAt);
    var text = document.createElement("span");
    text.textContent =
      "Your unsaved text from " + when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) +
      " is back in the form. Save to keep it. ";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button small subtle";
    discard.textContent = "Discard it";
    discard.addEventListener("click", function () {
      onDiscard();
      notice.remove();
    });
    notice.append(text, discard);
    forms[0].parentNode.insertBefore(notice, forms[0]);
  }

  function restore(draft) {
    var fields = draft.fields;
    var filled = forms.reduce(function (n, form) { return n + fill(form, fields); }, 0);
    if (!filled) return;
    changedAt = Date.now();
    keptAt = changedAt; // what is in the form now is what is kept
    announce(draft.saved_at, function () {
      forgetLocally();
      var data = new URLSearchParams({ path: page });
      fetch(urls.discard, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() }, body: data,
      }).then(function () { location.reload(); });
    });
  }

  function localDraft() {
    try { return JSON.parse(sessionStorage.getItem(localKey) || "null"); } catch (e) { return null; }
  }

  if (forms.length) {
    // A page shown again after a refused submit carries what was just typed: nothing to bring back.
    var showsErrors = forms.some(function (form) { return form.querySelector(".error"); });
    var local = localDraft();
    if (!showsErrors) {
      fetch(urls.draft + "?path=" + encodeURIComponent(page), { credentials: "same-origin", headers: { Accept: "application/json", "X-Requested-With": "keep-draft" } })
        .then(function (response) {
          if (!response.ok) return null;
          lastContact = Date.now(); // this request renewed the session too
          return response.json();
        })
        .catch(function () { return null; })
        .then(function (server) {
          // The newer of the server's copy and this tab's copy wins.
          var best = server && server.fields ? server : null;
          if (local && (!best || new Date(local.saved_at) > new Date(best.saved_at))) best = local;
          if (best) restore(best);
        });
    }
    forgetLocally();
  }

  setInterval(tick, 1000);
}());

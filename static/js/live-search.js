/*
 * Search as you type, on any page: the results of a GET form update while the person types, without
 * pressing Enter. The page works the same without JavaScript (Enter or the button submits the form).
 *
 *   <form method="get" action="/patients/" data-live-search="patient-results"> ... </form>
 *   <div id="patient-results"> ... the results the server renders for this form's query ... </div>
 *
 * On input in the form (debounced 250 ms) the form's action is fetched with the form's fields as its
 * query string; the element of the answer with the same id replaces the content of the page's one, and
 * the address becomes that URL (history.replaceState), so a reload or Back keeps the query.
 * A request that is no longer wanted is aborted, and an answer that arrives after a newer one is ignored.
 *
 * Screen readers hear the outcome through a polite status region the script adds after the form: the
 * `data-live-search-summary` attribute of an element in the new results (e.g. "3 patients found"),
 * else that element's text, else "Results updated.".
 *
 * Pressing Enter still submits the form normally (a pending update is dropped). No inline script or
 * style (CSP): load with <script src=".../live-search.js" defer></script>.
 */
(function () {
  "use strict";

  var DELAY = 250;
  var FAILED = "The results could not be updated. Press Enter to search.";

  function queryUrl(form) {
    var url = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") params.append(name, value);
    });
    url.search = params.toString();
    return url;
  }

  function statusRegion(form) {
    var region = document.createElement("p");
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    form.insertAdjacentElement("afterend", region);
    return region;
  }

  function summaryOf(results) {
    var marked = results.querySelector("[data-live-search-summary]");
    if (!marked) return "Results updated.";
    return marked.getAttribute("data-live-search-summary") || marked.textContent.trim() || "Results updated.";
  }

  function announce(region, text) {
    // The same words twice in a row (two searches with as many results) are announced again.
    region.textContent = region.textContent === text ? text + "\u00a0" : text;
  }

  function enhance(form) {
    var resultsId = form.getAttribute("data-live-search");
    var results = resultsId && document.getElementById(resultsId);
    if (!results || (form.getAttribute("method") || "get").toLowerCase() !== "get") return;

    var region = statusRegion(form);
    var timer = null;
    var controller = null;
    var sent = 0; // requests made, in order: only the newest one's answer is shown
    var lastUrl = queryUrl(form).href;

    function update() {
      timer = null;
      var url = queryUrl(form);
      if (url.href === lastUrl) return; // nothing changed (e.g. input then change of one checkbox)
      lastUrl = url.href;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var number = ++sent;
      results.setAttribute("aria-busy", "true");
      fetch(url.href, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "live-search" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          // Signed out meanwhile (the answer is the sign-in page) or an error: leave the results alone.
          if (!response.ok || new URL(response.url).pathname !== url.pathname) throw new Error("not the results");
          return response.text();
        })
        .then(function (html) {
          if (number !== sent) return; // a newer request was made since: its answer is the one to show
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(resultsId);
          if (!fresh) throw new Error("no results in the answer");
          results.replaceChildren.apply(results, Array.prototype.slice.call(fresh.childNodes).map(function (node) {
            return document.importNode(node, true);
          }));
          results.removeAttribute("aria-busy");
          history.replaceState(history.state, "", url.href);
          announce(region, summaryOf(results));
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          if (number !== sent) return;
          results.removeAttribute("aria-busy");
          lastUrl = null; // try again on the next keystroke
          announce(region, FAILED);
        });
    }

    function later() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(update, DELAY);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function () {
      // Enter or the button: an ordinary submit; nothing of ours may land after it.
      if (timer) clearTimeout(timer);
      timer = null;
      if (controller) controller.abort();
      sent++;
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-live-search]"), enhance);
})();

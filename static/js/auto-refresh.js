/* A page region that keeps itself up to date: the element marked [data-refresh] is fetched again every
   data-refresh-seconds (and when the tab or window comes back into view), parsed with DOMParser and swapped
   in place, without a full reload. Focus, scroll position and open <details> are kept; nothing happens while
   someone types, has a dialog open or the tab is hidden. What changed is said once in the polite live region
   [data-refresh-announce] (counts that moved), never the whole board. A form marked [data-refresh-filter] (a
   select of the doctor) refreshes the region at once when changed, keeping its choice in the address.
   Without JavaScript the page is an ordinary page: reload it, or use the form's button. */
(function () {
  "use strict";

  var region = document.querySelector("[data-refresh]");
  if (!region || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = parseFloat(region.getAttribute("data-refresh-seconds")) || 45;
  var period = Math.max(1, seconds) * 1000;
  var announcer = document.querySelector("[data-refresh-announce]");
  var filter = document.querySelector("[data-refresh-filter]");
  var timer = null;
  var busy = false;
  var lastRun = Date.now();

  function typing() {
    var el = document.activeElement;
    if (!el || el === document.body) {
      return false;
    }
    if (el.isContentEditable) {
      return true;
    }
    var tag = el.tagName;
    if (tag === "TEXTAREA") {
      return true;
    }
    if (tag === "SELECT") {
      // A select outside the region (the doctor filter) is left alone by a swap; one inside is not.
      return region.contains(el);
    }
    if (tag === "INPUT") {
      var type = (el.getAttribute("type") || "text").toLowerCase();
      return ["button", "submit", "reset", "checkbox", "radio", "hidden", "image"].indexOf(type) === -1;
    }
    return false;
  }

  function dialogOpen() {
    return !!document.querySelector("dialog[open], [role='dialog']:not([hidden]), [role='alertdialog']:not([hidden]), [aria-modal='true']");
  }

  function paused() {
    return document.hidden || typing() || dialogOpen();
  }

  function counts(root) {
    var found = {};
    root.querySelectorAll("[data-count][data-name]").forEach(function (item) {
      found[item.getAttribute("data-name")] = parseInt(item.getAttribute("data-count"), 10) || 0;
    });
    return found;
  }

  function changes(before, after) {
    var said = [];
    Object.keys(after).forEach(function (name) {
      if (before[name] !== after[name]) {
        said.push(name + ": " + after[name]);
      }
    });
    Object.keys(before).forEach(function (name) {
      if (!(name in after) && before[name]) {
        said.push(name + ": 0");
      }
    });
    return said;
  }

  function announce(text) {
    if (!announcer || !text) {
      return;
    }
    // Emptied first, so the same words said twice are read twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  // A way to find "the same" control in the new copy of the region: its row and its name.
  function focusKey(el) {
    if (!el || !region.contains(el) || el === region) {
      return null;
    }
    var row = el.closest("[data-appointment]");
    return {
      tag: el.tagName,
      row: row ? row.getAttribute("data-appointment") : null,
      name: el.getAttribute("aria-label") || el.textContent.trim(),
      href: el.getAttribute("href"),
    };
  }

  function findByKey(root, key) {
    var candidates = root.querySelectorAll(key.tag.toLowerCase());
    for (var i = 0; i < candidates.length; i += 1) {
      var el = candidates[i];
      var row = el.closest("[data-appointment]");
      var sameRow = (row ? row.getAttribute("data-appointment") : null) === key.row;
      var sameName = (el.getAttribute("aria-label") || el.textContent.trim()) === key.name;
      if (sameRow && sameName && el.getAttribute("href") === key.href) {
        return el;
      }
    }
    return null;
  }

  function swap(fresh, said) {
    var before = counts(region);
    var open = {};
    region.querySelectorAll("details[data-lane]").forEach(function (details) {
      open[details.getAttribute("data-lane")] = details.open;
    });
    var key = focusKey(document.activeElement);
    var x = window.scrollX;
    var y = window.scrollY;

    region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
    region.setAttribute("data-refresh-seconds", fresh.getAttribute("data-refresh-seconds") || String(seconds));

    region.querySelectorAll("details[data-lane]").forEach(function (details) {
      var lane = details.getAttribute("data-lane");
      if (lane in open) {
        details.open = open[lane];
      }
    });
    if (key) {
      var again = findByKey(region, key);
      if (!again) {
        // The control went away (its patient moved lane): keep the keyboard near where it was.
        region.setAttribute("tabindex", "-1");
        again = region;
      }
      again.focus({ preventScroll: true });
    }
    window.scrollTo(x, y);

    var moved = changes(before, counts(region));
    if (said) {
      announce(said + " " + Object.keys(counts(region)).map(function (name) {
        return name + ": " + counts(region)[name];
      }).join(", ") + ".");
    } else if (moved.length) {
      announce("Today updated. " + moved.join(", ") + ".");
    }
  }

  var pending = null;

  function refresh(options) {
    options = options || {};
    if (busy) {
      if (options.force) {
        pending = options; // run once the one on its way is done
      }
      return Promise.resolve();
    }
    if (!options.force && paused()) {
      return Promise.resolve();
    }
    busy = true;
    lastRun = Date.now();
    var address = window.location.href;
    return window.fetch(address, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-Requested-With": "auto-refresh" },
    }).then(function (response) {
      if (!response.ok) {
        return null;
      }
      return response.text().then(function (html) {
        if (window.location.href !== address) {
          return; // the filter changed while this was on its way: a newer refresh follows
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("[data-refresh]");
        if (!fresh) {
          stop(); // signed out (the sign-in page came back): a reload will say so
          return;
        }
        if (!options.force && paused()) {
          return; // someone started typing or opened a dialog meanwhile: next time
        }
        swap(fresh, options.said);
      });
    }).catch(function () {
      // Offline for a moment: the next tick tries again.
    }).then(function () {
      busy = false;
      if (pending) {
        var next = pending;
        pending = null;
        refresh(next);
      }
    });
  }

  function stop() {
    if (timer) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  function start() {
    stop();
    timer = window.setInterval(function () { refresh(); }, period);
  }

  function backInView() {
    // Coming back to the tab or window: refresh now, unless it was just done.
    if (!document.hidden && Date.now() - lastRun > 2000) {
      refresh();
      start();
    }
  }

  document.addEventListener("visibilitychange", backInView);
  window.addEventListener("focus", backInView);

  if (filter) {
    var select = filter.querySelector("select");
    if (select) {
      select.addEventListener("change", function () {
        var params = new URLSearchParams();
        new FormData(filter).forEach(function (value, name) {
          if (value) {
            params.append(name, value);
          }
        });
        var query = params.toString();
        window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
        var chosen = select.options[select.selectedIndex];
        refresh({ force: true, said: "Showing " + (chosen ? chosen.text : "all doctors") + "." });
      });
    }
  }

  start();
})();

/*
 * The record form's medications and lookups (templates/clinical/record_form.html), no page reload:
 *
 * - "Add medication" adds a row from the formset's empty form (<template id="meds-empty-row">) and
 *   counts it in TOTAL_FORMS, up to the form's maximum. "Remove" on a row not yet saved drops it
 *   (the rows after it are renumbered); on a saved row it ticks the row's DELETE box and hides it,
 *   with "Undo" until the form is saved.
 * - The drug field suggests names from the clinic's formulary and the ICD-10 field suggests codes
 *   and titles as you type: an ARIA combobox (arrow keys, Enter, Escape, or click).
 * - When a drug is entered (change), the server checks it against this patient's allergies and the
 *   warning appears next to the row, in the words the page uses after saving.
 *
 * Without this script the form works as before (two empty rows per save, a DELETE box per saved
 * row). No inline script or style (CSP): markup comes from the page's <template>, state from
 * classes and the hidden attribute.
 */
(function () {
  "use strict";

  var section = document.querySelector("[data-meds]");
  var icdField = document.querySelector("[data-icd10-url]");
  if (!section && !icdField) return;

  // --- fetching JSON ----------------------------------------------------------------------------

  function getJSON(url, params, signal) {
    var query = Object.keys(params)
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); })
      .join("&");
    return fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + query, {
      credentials: "same-origin",
      redirect: "manual", // signed out: the sign-in redirect is no answer
      headers: { Accept: "application/json", "X-Requested-With": "lookup" },
      signal: signal,
    }).then(function (response) {
      if (!response.ok) throw new Error("lookup failed: " + response.status);
      return response.json();
    });
  }

  // --- an accessible combobox (WAI-ARIA 1.2 pattern, list autocomplete) ----------------------------

  var comboCount = 0;

  /*
   * options: url, term(input) -> what to search for, label(item) -> text of an option,
   * choose(input, item) -> fill the input, after(input) (optional).
   */
  function combobox(input, options) {
    if (input.dataset.combobox) return;
    input.dataset.combobox = "1";
    comboCount += 1;
    var listId = (input.id || "combo") + "-suggestions-" + comboCount;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    var wrap = document.createElement("div");
    wrap.className = "combo";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");

    var items = [];
    var active = -1;
    var timer = null;
    var controller = null;
    var cache = {};
    var lastTerm = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(index) {
      var nodes = list.children;
      if (active >= 0 && nodes[active]) nodes[active].setAttribute("aria-selected", "false");
      active = index;
      if (active >= 0 && nodes[active]) {
        nodes[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", nodes[active].id);
        nodes[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(results) {
      items = results;
      list.textContent = "";
      results.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = options.label(item);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
          pick(i);
        });
        list.appendChild(li);
      });
      active = -1;
      if (results.length && document.activeElement === input) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }

    function pick(index) {
      var item = items[index];
      if (!item) return;
      options.choose(input, item);
      close();
      lastTerm = options.term(input);
      input.dispatchEvent(new Event("change", { bubbles: true }));
      if (options.after) options.after(input, item);
    }

    function lookup() {
      var term = options.term(input);
      if (term === lastTerm) return;
      lastTerm = term;
      if (term.length < 2) {
        show([]);
        return;
      }
      if (cache[term]) {
        show(cache[term]);
        return;
      }
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      getJSON(options.url, { q: term }, controller && controller.signal)
        .then(function (data) {
          cache[term] = data.results || [];
          if (options.term(input) === term) show(cache[term]);
        })
        .catch(function () { /* a failed suggestion is no suggestion: typing goes on */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length;
      if (event.key === "ArrowDown") {
        if (!open) { lastTerm = null; lookup(); return; }
        event.preventDefault();
        setActive((active + 1) % items.length);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        setActive(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault(); // choosing, not submitting the form
        pick(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(close, 100);
    });
  }

  // --- ICD-10 codes: the field holds several, separated by commas; the last one is being typed ----

  if (icdField) {
    var icdInput = icdField.querySelector("input");
    var lastPart = function (input) {
      var parts = input.value.split(",");
      return parts[parts.length - 1].trim();
    };
    if (icdInput) {
      combobox(icdInput, {
        url: icdField.dataset.icd10Url,
        term: lastPart,
        label: function (item) { return item.code + " — " + item.title; },
        choose: function (input, item) {
          var parts = input.value.split(",").map(function (p) { return p.trim(); });
          parts[parts.length - 1] = item.code;
          var codes = parts.filter(function (p, i) { return p && parts.indexOf(p) === i; });
          input.value = codes.join(", ") + ", ";
        },
      });
    }
  }

  if (!section) return;

  // --- medication rows ----------------------------------------------------------------------------

  var prefix = "meds";
  var table = section.querySelector("table.meds");
  var template = document.getElementById("meds-empty-row");
  var total = section.querySelector("input[name=" + prefix + "-TOTAL_FORMS]");
  var initial = section.querySelector("input[name=" + prefix + "-INITIAL_FORMS]");
  var addBar = section.querySelector(".meds-add");
  var addButton = section.querySelector("[data-meds-add]");
  var limitNote = section.querySelector("[data-meds-limit]");
  var status = section.querySelector("[data-meds-status]");
  var maxRows = Number(section.dataset.maxRows || 30);
  if (!table || !template || !total || !addButton) return;

  function rows() {
    return Array.prototype.slice.call(table.querySelectorAll("tbody.med"));
  }

  function say(text) {
    status.textContent = "";
    // A fresh text node, so the same words twice are still announced.
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function drugOf(row) {
    var input = row.querySelector("input[name$='-drug']");
    return input ? input.value.trim() : "";
  }

  // Row numbers as shown (labels, warnings) follow the rows still on the form.
  function renumber() {
    var n = 0;
    rows().forEach(function (row) {
      if (row.classList.contains("med-removed")) return;
      n += 1;
      row.querySelectorAll("[data-row-number]").forEach(function (span) { span.textContent = String(n); });
      var strong = row.querySelector(".row-allergy-warning strong");
      if (strong) strong.textContent = "Allergy warning (row " + n + ").";
    });
  }

  // The unsaved rows' form indexes stay 0..TOTAL_FORMS-1 with no gap, as Django's formset reads them.
  function reindex() {
    var first = Number(initial.value);
    var unsaved = rows().filter(function (row) { return !row.hasAttribute("data-saved"); });
    unsaved.forEach(function (row, i) {
      var index = first + i;
      var pattern = new RegExp("^(id_)?" + prefix + "-\\d+-");
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for", "aria-controls"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(pattern, function (m, id) { return (id || "") + prefix + "-" + index + "-"; }));
          }
        });
      });
    });
    total.value = String(rows().length);
    updateAdd();
  }

  function updateAdd() {
    var full = rows().length >= maxRows;
    addButton.disabled = full;
    if (limitNote) limitNote.hidden = !full;
  }

  function addRow(quietly) {
    if (rows().length >= maxRows) return;
    var index = rows().length;
    var visible = rows().filter(function (r) { return !r.classList.contains("med-removed"); }).length + 1;
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__num__/g, String(visible));
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var row = holder.content.querySelector("tbody.med");
    table.appendChild(row);
    total.value = String(rows().length);
    enhance(row);
    updateAdd();
    if (quietly === true) return;
    var drug = row.querySelector("input[name$='-drug']");
    if (drug) drug.focus();
    say("Row " + visible + " added.");
  }

  function removeRow(row) {
    var label = drugOf(row) || "the empty row";
    if (!row.hasAttribute("data-saved")) {
      var next = row.nextElementSibling;
      row.remove();
      reindex();
      renumber();
      var focusTarget = next && next.matches("tbody.med") ? next.querySelector("input[name$='-drug']") : addButton;
      (focusTarget || addButton).focus();
      say(label + " removed.");
      return;
    }
    var box = row.querySelector("input[name$='-DELETE']");
    if (box) box.checked = true;
    markRemoved(row, label, true);
    renumber();
    say(label + " will be removed when you save.");
  }

  function markRemoved(row, label, focusUndo) {
    row.classList.add("med-removed");
    row.querySelectorAll("tr:not(.med-undo)").forEach(function (tr) { tr.hidden = true; });
    var undo = row.querySelector("tr.med-undo");
    if (!undo) {
      undo = document.createElement("tr");
      undo.className = "med-undo";
      var cell = document.createElement("td");
      cell.colSpan = 8;
      var text = document.createElement("span");
      text.className = "med-undo-text";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button subtle";
      button.textContent = "Undo";
      button.addEventListener("click", function () { restoreRow(row); });
      cell.appendChild(text);
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(button);
      undo.appendChild(cell);
      row.appendChild(undo);
    }
    undo.querySelector(".med-undo-text").textContent = label + " will be removed when you save.";
    var undoButton = undo.querySelector("button");
    undoButton.setAttribute("aria-label", "Undo removing " + label);
    undo.hidden = false;
    if (focusUndo) undoButton.focus();
  }

  function restoreRow(row, quietly) {
    var box = row.querySelector("input[name$='-DELETE']");
    if (box) box.checked = false;
    row.classList.remove("med-removed");
    row.querySelectorAll("tr").forEach(function (tr) { tr.hidden = tr.classList.contains("med-undo"); });
    renumber();
    if (quietly === true) return;
    var drug = row.querySelector("input[name$='-drug']");
    if (drug) drug.focus();
    say((drugOf(row) || "The row") + " kept.");
  }

  // --- the allergy check of a drug as it is entered ---------------------------------------------

  var checks = new WeakMap();

  function showWarning(row, html) {
    var warning = row.querySelector("tr.allergy-row");
    if (!html) {
      if (warning) warning.remove();
      return;
    }
    if (!warning) {
      warning = document.createElement("tr");
      warning.className = "allergy-row";
      var cell = document.createElement("td");
      cell.colSpan = 8;
      var p = document.createElement("p");
      p.className = "warning row-allergy-warning";
      p.setAttribute("role", "alert");
      cell.appendChild(p);
      warning.appendChild(cell);
      row.querySelector("tr.med-fields").after(warning);
    }
    var number = row.querySelector("[data-row-number]");
    var p2 = warning.querySelector("p");
    // The server's text (escaped there, from clinical/_allergy_conflict.html).
    p2.innerHTML = "<strong></strong> " + html;
    p2.querySelector("strong").textContent = "Allergy warning (row " + (number ? number.textContent : "") + ").";
  }

  function checkAllergy(row) {
    var drug = drugOf(row);
    var url = section.dataset.allergyUrl;
    if (!url) return;
    if (!drug) {
      showWarning(row, "");
      return;
    }
    if (checks.get(row) === drug) return;
    checks.set(row, drug);
    getJSON(url, { drug: drug })
      .then(function (data) {
        if (drugOf(row) === data.drug) showWarning(row, data.conflicts ? data.html : "");
      })
      .catch(function () { checks.delete(row); /* the check runs again on save */ });
  }

  // --- wiring -----------------------------------------------------------------------------------

  function enhance(row) {
    var remove = row.querySelector("[data-med-remove]");
    if (remove) {
      remove.hidden = false;
      remove.addEventListener("click", function () { removeRow(row); });
    }
    var box = row.querySelector(".med-delete");
    if (box) {
      box.hidden = true;
      var checkbox = box.querySelector("input");
      if (checkbox && checkbox.checked) markRemoved(row, drugOf(row) || "This row", false);
    }
    var drug = row.querySelector("input[name$='-drug']");
    if (drug) {
      // What the server warned about when the page was drawn needs no second check.
      if (row.querySelector("tr.allergy-row")) checks.set(row, drug.value.trim());
      combobox(drug, {
        url: section.dataset.drugUrl,
        term: function (input) { return input.value.trim(); },
        label: function (item) {
          var extra = [item.strengths.join(", "), item.forms.join(", ")].filter(Boolean).join(" · ");
          return extra ? item.name + " (" + extra + ")" : item.name;
        },
        choose: function (input, item) { input.value = item.name; },
      });
      drug.addEventListener("change", function () { checkAllergy(row); });
    }
  }

  // A draft kept at an idle sign-out (keep-draft.js) may hold rows added in the browser: they are
  // made before it fills the fields in, and saved rows it had removed are shown removed.
  var form = section.closest("form");
  if (form) {
    form.addEventListener("keep-draft:restoring", function (event) {
      var fields = (event.detail && event.detail.fields) || [];
      var named = {};
      fields.forEach(function (pair) { named[pair[0]] = pair[1]; });
      var wanted = Math.min(Number(named[prefix + "-TOTAL_FORMS"]) || 0, maxRows);
      while (rows().length < wanted) addRow(true);
      rows().forEach(function (row) {
        var box = row.querySelector("input[name$='-DELETE']");
        if (!box) return;
        var removed = named[box.name] === "on";
        if (removed && !row.classList.contains("med-removed")) {
          box.checked = true;
          markRemoved(row, drugOf(row) || "This row", false);
        } else if (!removed && row.classList.contains("med-removed")) {
          restoreRow(row, true);
        }
      });
      renumber();
      // Once the fields are filled in (right after this event), the restored drugs are checked.
      setTimeout(function () { rows().forEach(checkAllergy); }, 0);
    });
  }

  rows().forEach(enhance);
  addBar.hidden = false;
  var nojs = section.querySelector("[data-meds-nojs]");
  if (nojs) nojs.hidden = true;
  addButton.addEventListener("click", function () { addRow(false); });
  updateAdd();
  renumber();
})();

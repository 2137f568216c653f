// The admin's search-as-you-type selects (select2): the box select2 draws in place of the <select> shows the
// chosen item as a read-only textbox, which has no name while nothing is chosen (axe: aria-input-field-name),
// and the page's <label for> names the hidden <select>, not it. Each such textbox is named after its field
// (the select's title, set by clinic/admin.py) as soon as select2 draws it: on page load (jQuery's ready
// handlers, select2's among them, may run after the load event) and for inline rows added later.
(function () {
  "use strict";

  function name() {
    document.querySelectorAll("select.admin-autocomplete[title]").forEach(function (select) {
      var shown = document.getElementById("select2-" + select.id + "-container");
      if (shown && !shown.hasAttribute("aria-label")) {
        shown.setAttribute("aria-label", select.title);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    name();
    new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
  });
})();

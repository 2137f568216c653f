/* A series' list of occurrences: the save button counts what it will save ("Book 6 appointments") as
 * choices change (skip, or another time that day). Without this script the list works as it is: the
 * button's number is the one the page opened with, and the server saves whatever is chosen. */
(function () {
  "use strict";
  const form = document.querySelector("form[data-series-list]");
  if (!form) return;
  const count = form.querySelector("[data-series-count]");
  const plural = form.querySelector("[data-series-plural]");
  if (!count || !plural) return;

  function update() {
    const names = new Set(Array.from(form.querySelectorAll("input[type=radio]"), (radio) => radio.name));
    let saving = 0;
    names.forEach((name) => {
      const checked = form.querySelector(`input[type=radio][name="${name}"]:checked`);
      if (checked && checked.value !== "skip") saving += 1;
    });
    count.textContent = String(saving);
    plural.textContent = saving === 1 ? "" : "s";
  }

  form.addEventListener("change", update);
  update();
})();

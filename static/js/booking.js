/* Booking and rescheduling forms: say in words what the button will save, and refresh the offered
 * free times when the doctor, date or length changes. Without this script the form works as it is:
 * the free times shown are those of the doctor and day the page opened with. */
(function () {
  "use strict";
  const form = document.getElementById("booking");
  if (!form) return;
  const summary = document.getElementById("booking-summary");
  const container = document.getElementById(form.dataset.freeTimes);
  const field = (name) => form.elements.namedItem(name);
  const dateParts = new Intl.DateTimeFormat("en-GB", {
    weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
  });
  // "Monday 7 December 2026", as the server writes dates (browsers differ on the comma).
  const dateWords = (day) => {
    const part = Object.fromEntries(dateParts.formatToParts(day).map(({ type, value }) => [type, value]));
    return `${part.weekday} ${part.day} ${part.month} ${part.year}`;
  };

  function describe() {
    const doctor = field("doctor"), date = field("date"), time = field("time"), minutes = field("minutes");
    const chosen = doctor && doctor.selectedIndex > 0 ? doctor.options[doctor.selectedIndex].text.split(" — ")[0] : "";
    const day = date && /^\d{4}-\d{2}-\d{2}$/.test(date.value) ? new Date(date.value + "T00:00:00Z") : null;
    const at = time && /^\d{1,2}:\d{2}/.test(time.value) ? time.value.slice(0, 5) : "";
    if (!summary) return;
    if (!chosen || !day || isNaN(day) || !at) {
      summary.hidden = true;
      return;
    }
    const length = minutes && minutes.value ? ` for ${minutes.value} minutes` : "";
    const verb = form.dataset.verb || "Booking";
    summary.textContent = `${verb} ${form.dataset.patient} with ${chosen} on ${dateWords(day)} at ${at}${length}.`;
    summary.hidden = false;
  }

  let pending = null;
  async function refreshFreeTimes() {
    if (!container) return;
    const params = new URLSearchParams();
    for (const name of ["patient", "doctor", "date", "minutes"]) {
      const input = field(name);
      if (input && input.value) params.set(name, input.value);
    }
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const response = await fetch(`${window.location.pathname}?${params}`, {
        signal: pending.signal, credentials: "same-origin", headers: { "X-Requested-With": "fetch" },
      });
      if (!response.ok || response.redirected) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById(container.id);
      if (fresh) container.replaceChildren(...fresh.childNodes);
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }

  form.addEventListener("input", describe);
  form.addEventListener("change", (event) => {
    describe();
    if (["doctor", "date", "minutes"].includes(event.target.name)) refreshFreeTimes();
  });
  describe();
})();

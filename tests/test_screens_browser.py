"""Every role's main pages on a phone (390 px) and on a desk screen (1280 px), with a busy clinic behind them:
no page scrolls sideways as a whole; tables of the day become cards with the main action first on the phone;
calendars scroll sideways inside themselves with the time column kept; the record form's medications stack;
the navigation marks the current page and stays on one line at 1366 px; axe-core finds no serious problem.

Long names on purpose ("Maximiliana Wolfeschlegelsteinhausen-Bergerdorff", "王芳"), several doctors, a hundred
appointments on the day, so a page that only fits when its data is short fails here.

Set SCREENS_SCREENSHOTS to a folder to keep a full-page picture of every page at each width for a person to look at.
"""

import os
import re
import time as clock
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare
from clinical import services as clinical_services
from clinical.models import Procedure
from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    MedicationFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import local
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory

PASSWORD = "screens-browser-Pw-7"
S = Appointment.Status
LONG_FIRST, LONG_LAST = "Maximiliana", "Wolfeschlegelsteinhausen-Bergerdorff"
PATIENT_NAMES = [
    (LONG_FIRST, LONG_LAST),
    ("芳", "王"),
    ("Oluwaseun-Adebayo", "Okonkwo-Nwachukwu"),
    ("Anne-Marie Geneviève", "Featherstonehaugh-Cholmondeley"),
    ("José María", "de la Santísima Trinidad Ruiz y Picasso"),
    ("Thị Minh Khai", "Nguyễn"),
    ("Aleksandra", "Szczepańska-Wróblewska"),
    ("Siobhán", "Ní Mhaoldomhnaigh"),
    ("Ngozi", "Obi"),
    ("Bo", "Li"),
]
ALL_WEEK = [(weekday, time(7), time(19)) for weekday in range(7)]
WIDTHS = {"desk": (1280, 800), "phone": (390, 844)}


def busy_clinic(day):
    """Users of every role, four doctors (one with a very long name) and a full day of visits in every state,
    charts with records, medications, amendments, plans and procedures, payments waiting."""
    users = {
        RECEPTIONIST: UserFactory(username="rita", first_name="Rita", last_name="Receptionist", roles=[RECEPTIONIST]),
        NURSE: UserFactory(username="nkechi", first_name="Nkechi", last_name="Nurse", roles=[NURSE]),
        MANAGER: UserFactory(username="manon", first_name="Manon", last_name="Manager", roles=[MANAGER], is_staff=True),
        ADMINISTRATOR: UserFactory(
            username="ada", first_name="Ada", last_name="Administrator", roles=[ADMINISTRATOR], is_staff=True
        ),
        "superuser": UserFactory(
            username="sue",
            first_name="Susannah-Josephine",
            last_name="Vandersloot-Hendrikse",
            roles=[ADMINISTRATOR, MANAGER],
            is_staff=True,
            is_superuser=True,
        ),
    }
    for user in users.values():
        user.set_password(PASSWORD)
        user.save()
    doctors = [
        DoctorFactory(
            user__username="dora",
            user__first_name="Dora",
            user__last_name="Doctor",
            user__password=PASSWORD,
            specialty=SpecialtyFactory(name="General practice"),
            hours=ALL_WEEK,
            consultation_fee=Decimal("45.00"),
        ),
        DoctorFactory(
            user__first_name="Bartholomew-Alexander",
            user__last_name="Vanderschoot-Hendriksen",
            specialty=SpecialtyFactory(name="Paediatric and adolescent endocrinology"),
            hours=ALL_WEEK,
            consultation_fee=Decimal("120.00"),
        ),
        DoctorFactory(
            user__first_name="李", user__last_name="娜", specialty=SpecialtyFactory(name="Cardiology"), hours=ALL_WEEK
        ),
        DoctorFactory(
            user__first_name="Yusuf",
            user__last_name="Demir",
            specialty=SpecialtyFactory(name="Dermatology"),
            hours=ALL_WEEK,
        ),
    ]
    users[DOCTOR] = doctors[0].user
    # The superuser is also a doctor, so every link of the navigation shows for them.
    DoctorFactory(user=users["superuser"], specialty=SpecialtyFactory(name="General practice"), hours=[])

    named = [PatientFactory(first_name=first, last_name=last) for first, last in PATIENT_NAMES]
    patients = named + PatientFactory.create_batch(30)
    chart = named[0]
    AllergyFactory(patient=chart, substance="Amoxicillin-clavulanate (co-amoxiclav)", reaction="Anaphylaxis")
    AllergyFactory(patient=chart, substance="Latex", reaction="Urticaria and angio-oedema of the lips and eyelids")
    ConditionFactory(patient=chart, name="Type 2 diabetes mellitus with chronic kidney disease", icd10_code="E11.22")
    AllergyFactory(patient=named[1], substance="青霉素", reaction="皮疹")

    # The day: every doctor booked back to back 08:00-18:00, states as a busy afternoon has them.
    now = timezone.now()
    states = [S.COMPLETED, S.COMPLETED, S.IN_PROGRESS, S.CHECKED_IN, S.CHECKED_IN, S.NO_SHOW, S.CANCELLED]
    states += [S.CONFIRMED, S.SCHEDULED] * 20
    made, turn = [], 0
    for doctor in doctors:
        for n in range(30):
            start = local(day, 8) + timedelta(minutes=20 * n)
            status = states[n % len(states)]
            stamps = {}
            if status in (S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED):
                stamps["checked_in_at"] = now
            if status in (S.IN_PROGRESS, S.COMPLETED):
                stamps["started_at"] = now
            if status == S.COMPLETED:
                stamps["completed_at"] = now
            patient = patients[turn % len(patients)]
            turn += 1
            made.append(
                Appointment(
                    patient=patient,
                    doctor=doctor,
                    start=start,
                    end=start + timedelta(minutes=20),
                    status=status,
                    reason="Review of long-standing symptoms and repeat prescriptions" if n % 3 else "Check-up",
                    booked_by=users[RECEPTIONIST],
                    **stamps,
                )
            )
        # The rest of the week for the week view.
        for offset in range(1, 7):
            for hour in (9, 11, 14, 16):
                start = local(day + timedelta(days=offset), hour)
                made.append(
                    Appointment(
                        patient=patients[(turn + hour) % len(patients)],
                        doctor=doctor,
                        start=start,
                        end=start + timedelta(minutes=30),
                        booked_by=users[RECEPTIONIST],
                    )
                )
    Appointment.objects.bulk_create(made)
    chart_visit = Appointment.objects.filter(patient=chart, doctor=doctors[0], start__date__gte=day).first()
    if chart_visit is None:  # the long-named patient has a visit with Dora today whatever the rotation gave
        chart_visit = Appointment.objects.create(
            patient=chart,
            doctor=doctors[0],
            start=local(day, 18, 30),
            end=local(day, 18, 50),
            status=S.CHECKED_IN,
            checked_in_at=now,
            booked_by=users[RECEPTIONIST],
        )

    # The chart: signed records with medications and an amendment, a draft with many medications.
    dora = users[DOCTOR]
    for n in range(4):
        record = MedicalRecordFactory(
            author=dora,
            patient=chart,
            chief_complaint="Increasing breathlessness on exertion over the last three weeks " * 2,
            diagnosis="Community-acquired pneumonia, right lower lobe",
        )
        MedicationFactory(record=record, drug="Amoxicillin trihydrate/potassium clavulanate", strength="875 mg/125 mg")
        MedicationFactory(record=record, drug="Paracetamol", frequency="every four to six hours when required")
        record = clinical_services.sign_record(record=record, by=dora, acknowledge_allergies=True)
        if n == 0:
            AmendmentFactory(record=record, text="Chest X-ray report received: consolidation confirmed. " * 3)
    draft = MedicalRecordFactory(author=dora, patient=chart, diagnosis="Follow-up of pneumonia")
    for drug in ("Salbutamol 100 micrograms/dose pressurised inhaler", "Prednisolone", "Doxycycline hyclate"):
        MedicationFactory(record=draft, drug=drug, frequency="twice a day after food for seven days")
    for patient in named[1:4]:
        MedicalRecordFactory(author=dora, patient=patient)  # more unsigned notes
    plan = TreatmentPlanFactory(
        patient=chart, doctor=doctors[0], diagnosis_summary="Diabetic kidney disease: slow the decline"
    )
    for name in ("HbA1c blood test", "Urine albumin:creatinine ratio", "Retinal screening photography"):
        ProcedureFactory(plan=plan, name=name, status=Procedure.Status.DONE, performed_date=day, fee=Decimal("1250.00"))
    ProcedureFactory(plan=plan, name="Dietitian referral, structured education programme")
    return {"users": users, "doctors": doctors, "chart": chart, "chart_visit": chart_visit, "draft": draft}


def pages_by_role(world, day):
    """(role, [(name, url, current nav link or None)]) for each role's main pages."""
    chart, visit, draft = world["chart"], world["chart_visit"], world["draft"]
    doctor = world["doctors"][0]
    today = ("Today", reverse("home"), "Today")
    day_view = ("Calendar, day", reverse("scheduling:day") + f"?date={day:%Y-%m-%d}", "Calendar")
    week_view = ("Calendar, week", reverse("scheduling:week", args=[doctor.pk]) + f"?date={day:%Y-%m-%d}", "Calendar")
    slots = ("Free slots", reverse("scheduling:slots"), "Free slots")
    patients = ("Patients", reverse("patients:list"), "Patients")
    patient = ("Patient page", reverse("patients:detail", args=[chart.pk]), "Patients")
    appointment = ("Appointment page", reverse("scheduling:detail", args=[visit.pk]), None)
    chart_page = ("Chart", reverse("clinical:chart", args=[chart.pk]), None)
    due = ("Payments due, visits", reverse("finance:due"), "Payments due")
    due_procedures = ("Payments due, procedures", reverse("finance:due") + "?show=procedures", "Payments due")
    audit = ("Audit search", reverse("audit:search"), "Audit trail")
    return [
        (
            RECEPTIONIST,
            [
                today,
                day_view,
                week_view,
                slots,
                ("Book, patient chosen", reverse("scheduling:book") + f"?patient={chart.pk}", "Book"),
                ("Book, patients found", reverse("scheduling:book") + "?q=a", "Book"),
                patients,
                patient,
                appointment,
                due,
                due_procedures,
            ],
        ),
        (
            DOCTOR,
            [
                ("My day", reverse("clinical:my_day"), "My day"),
                today,
                day_view,
                chart_page,
                ("Record form", reverse("clinical:record_edit", args=[draft.pk]), None),
                ("Unsigned notes", reverse("clinical:unsigned_notes"), "My day"),
                appointment,
            ],
        ),
        (
            NURSE,
            [today, week_view, patient, chart_page, ("Vital signs", reverse("clinical:vitals", args=[visit.pk]), None)],
        ),
        (MANAGER, [today, patients, audit]),
        (
            ADMINISTRATOR,
            [
                today,
                ("Staff", reverse("staff:list"), "Staff"),
                ("Doctors", reverse("staff:doctors"), "Doctors"),
                audit,
                due,
            ],
        ),
    ]


# The elements that stick out to the right, outermost first: the ones whose parent still fits are the cause.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].map(c => '.' + c).join('');
  const path = el => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) parts.unshift(name(e));
    return parts.join(' > ');
  };
  // Cut off by a scrolling or clipping ancestor; an absolutely placed element only by one at or above the box it
  // is placed in (its nearest positioned ancestor), a fixed one by none.
  const clipped = el => {
    const position = getComputedStyle(el).position;
    if (position === 'fixed') return false;
    let placedIn = position !== 'absolute';
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (!placedIn && style.position === 'static') continue;
      placedIn = true;
      if (/(auto|scroll|hidden|clip)/.test(style.overflowX)) return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1 || clipped(el)) continue;
    const parent = el.parentElement.getBoundingClientRect();
    wide.push({element: path(el), right: Math.round(box.right), width: Math.round(box.width),
               cause: parent.right <= width + 1, text: (el.innerText || '').trim().slice(0, 50)});
  }
  wide.sort((a, b) => (b.cause - a.cause) || (b.right - a.right));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, wide: wide.slice(0, 6)};
}"""


def sideways_overflow(page):
    """None when the page fits its window; else a message naming the elements that stick out."""
    found = page.evaluate(OVERFLOW)
    if found["scrollWidth"] <= found["innerWidth"]:
        return None
    lines = [f"scrollWidth {found['scrollWidth']} > window {found['innerWidth']}; widest:"]
    lines += [
        f"    {w['element']} right={w['right']} width={w['width']}{' (cause)' if w['cause'] else ''} {w['text']!r}"
        for w in found["wide"]
    ]
    return "\n".join(lines)


CURRENT = """() => [...document.querySelectorAll('nav.nav a[aria-current]')].map(a => [a.textContent.trim(),
  a.getAttribute('aria-current'), getComputedStyle(a).boxShadow])"""


# Tables marked as cards (<table class="table cards">): on a phone each row is a card, its main action first,
# buttons tall enough to tap, each cell labelled by its column (no label where the cell has none), the header row
# off screen; on a desk screen still a table.
CARDS = """(phone) => {
  const problems = [];
  for (const table of document.querySelectorAll('table.cards')) {
    const head = table.tHead && table.tHead.getBoundingClientRect();
    if (phone && head && head.height > 1) problems.push('its header row is still shown');
    for (const row of table.tBodies[0] ? table.tBodies[0].rows : []) {
      const display = getComputedStyle(row).display;
      if (phone !== (display === 'flex' || display === 'grid')) { problems.push(`a row is display:${display}`); break; }
      if (!phone) continue;
      const cells = [...row.cells];
      const action = cells.find(td => td.classList.contains('main-action'));
      const first = cells.filter(td => td.getBoundingClientRect().height > 0)
        .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)[0];
      if (action && action.getBoundingClientRect().height > 0 && first !== action) {
        problems.push(`the main action is not first in "${row.innerText.slice(0, 40)}"`);
      }
      for (const button of row.querySelectorAll('.button, button')) {
        const height = button.getBoundingClientRect().height;
        if (height < 44) problems.push(`"${button.innerText}" is ${height} px tall`);
      }
      for (const td of cells) {
        const label = td.getAttribute('data-label') || '';
        const shown = getComputedStyle(td, '::before').content;
        const expected = (label && !td.classList.contains('main-action')) ? JSON.stringify(label) : 'none';
        if (shown !== expected) problems.push(`a cell labelled ${JSON.stringify(label)} shows ${shown}`);
      }
    }
  }
  return [...new Set(problems)];
}"""

# A calendar keeps its time column in view and scrolls sideways inside its own frame, not the page.
CALENDAR = """async () => {
  const wrap = document.querySelector('.grid-wrap');
  if (!wrap) return ['no calendar'];
  const problems = [];
  const time = wrap.querySelector('tbody .time-col');
  if (wrap.scrollWidth > wrap.clientWidth) {
    wrap.scrollLeft = 400;
    await new Promise(requestAnimationFrame);
    if (wrap.scrollLeft === 0) problems.push('the calendar does not scroll sideways');
    const gap = time.getBoundingClientRect().left - wrap.getBoundingClientRect().left;
    if (Math.abs(gap) > 2) problems.push(`the time column moved ${gap} px out of view`);
    wrap.scrollLeft = 0;
  }
  const right = wrap.getBoundingClientRect().right;
  if (right > document.documentElement.clientWidth + 1) problems.push(`wider than the page (${right} px)`);
  return problems;
}"""

# The record form's medications: one block each on a phone, every field inside the window.
MEDICATIONS = """() => {
  const rows = [...document.querySelectorAll('.meds tr.med-fields')];
  if (!rows.length) return ['no medication rows'];
  const problems = [];
  for (const row of rows) {
    const display = getComputedStyle(row).display;
    if (display !== 'grid') problems.push(`a medication row is display:${display}`);
    for (const input of row.querySelectorAll('input:not([type=hidden]), select')) {
      const box = input.getBoundingClientRect();
      if (box.width === 0) continue;  // hidden on purpose (the delete box behind the Remove button)
      if (box.right > document.documentElement.clientWidth || box.width < 60) {
        problems.push(`${input.name} is cut (${box.left}-${box.right})`);
      }
    }
  }
  return [...new Set(problems)];
}"""


def check_page(page, label, url, current, width, problems):
    """Open `url` and note what is wrong with it in `problems`."""
    page.goto(url)
    if page.url.endswith(reverse("login")) or "/accounts/login/" in page.url:
        problems.append(f"{label}: sent to the sign-in page")
        return
    if os.environ.get("SCREENS_SCREENSHOTS"):
        name = re.sub(r"\W+", "-", label.lower()).strip("-")
        page.screenshot(path=Path(os.environ["SCREENS_SCREENSHOTS"]) / f"{width}-{name}.png", full_page=True)
    overflow = sideways_overflow(page)
    if overflow:
        problems.append(f"{label} at {width} px: {overflow}")
    marked = page.evaluate(CURRENT)
    pages_marked = [text for text, state, _ in marked if state == "page"]
    sections_marked = [text for text, state, _ in marked if state == "true"]
    if current and current not in pages_marked + sections_marked:
        problems.append(f"{label}: the navigation marks {marked}, not {current!r}")
    if len(pages_marked) > 1 or (current is None and marked):
        problems.append(f"{label}: the navigation marks {marked}")
    if any(shadow == "none" for _, _, shadow in marked):
        problems.append(f"{label}: the current link looks like the others (colour alone)")
    phone = width < 700
    problems += [f"{label} at {width} px, cards: {problem}" for problem in page.evaluate(CARDS, phone)]
    if page.locator(".grid-wrap").count():
        problems += [f"{label} at {width} px, calendar: {problem}" for problem in page.evaluate(CALENDAR)]
    if phone and page.locator("table.meds").count():
        problems += [f"{label} at {width} px, medications: {problem}" for problem in page.evaluate(MEDICATIONS)]
    try:
        assert_no_serious_axe_violations(page)
    except pytest.fail.Exception as failure:
        problems.append(f"{label} at {width} px: {failure}")


def open_as(new_context, width, height, username, csp_violations):
    context = new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, username, PASSWORD)
    return page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("screen", WIDTHS)
def test_every_roles_pages_fit_the_screen(new_context, screen):
    """Each role's main pages at the width: none scrolls sideways, the navigation marks where the person is, and
    axe-core finds no serious violation; all problems are listed together."""
    started = clock.monotonic()
    width, height = WIDTHS[screen]
    day = today_with_time_to_spare()
    world = busy_clinic(day)
    problems, csp_violations, walked = [], [], 0
    for role, pages in pages_by_role(world, day):
        page = open_as(new_context, width, height, world["users"][role].username, csp_violations)
        for name, url, current in pages:
            check_page(page, f"{role}: {name}", url, current, width, problems)
            walked += 1
        page.context.close()
    print(f"\n{walked} pages at {width} px in {clock.monotonic() - started:.1f} s")
    assert problems == [], "\n".join(problems)
    assert csp_violations == []


NAV_LINES = """() => [...new Set([...document.querySelectorAll('nav.nav ul > li')].map(li => li.offsetTop))].length"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_longest_navigation_stays_on_one_line_at_1366_px(new_context):
    """A superuser who is also a doctor sees every link; at 1366 px they sit on one line, the page does not
    scroll sideways, and the current page is marked."""
    day = today_with_time_to_spare()
    world = busy_clinic(day)
    page = open_as(new_context, 1366, 768, "sue", [])
    page.goto(reverse("finance:due"))
    links = page.locator("nav.nav ul > li")
    assert links.count() == 13, links.all_inner_texts()  # Waitlist joined in #17
    assert page.evaluate(NAV_LINES) == 1, links.evaluate_all("lis => lis.map(li => [li.innerText, li.offsetTop])")
    assert sideways_overflow(page) is None
    assert page.locator('nav.nav a[aria-current="page"]').all_inner_texts() == ["Payments due"]
    assert world["users"]["superuser"].is_superuser

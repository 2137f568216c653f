"""A morning at the front desk in Chromium, at 1280 and 390 px: a weekly series booked and a cancellation in it
filled from the waitlist, the two features together as a receptionist meets them.

Zoë, after her knee assessment, is booked from her patient page into six weekly physiotherapy sessions with
Dr Osei; the 3rd week clashes with another patient's visit, so that one takes another time that day. Hoa phones:
she would come in sooner if anything frees up with Dr Osei, and goes on his waitlist from her patient page. Then
Zoë phones: she cannot come in the 2nd week. From her patient page the receptionist opens that appointment,
cancels this one only (the series cancel page offers "this and following" first), and on the cancelled
appointment's page the freed time names Hoa: one click books her into it.

Every page visited passes axe and fits the screen. Clicks are counted (choosing from a list counts as one; typing
does not) and must stay at the numbers below.
Dates are counted from tomorrow at 09:00 clinic time (never in a clock change), so the journey runs on any day.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, Series
from scheduling.tests.factories import AppointmentFactory, local
from scheduling.tests.test_series_journey import EVERY_DAY
from staff.roles import RECEPTIONIST
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory
from waitlist.models import WaitlistEntry

PASSWORD = "diary-journey-Pw-7"
# Book a series from the patient's page: Book a series, the doctor, List the appointments, another time for the
# clash, Book 6 appointments = 5 (the date, time, number and reason are typed; weekly is preset).
SERIES_CLICKS = 5
# Put a patient on the waitlist from her page: Add to the waitlist, the doctor, Add to the waitlist = 3.
WAITLIST_CLICKS = 3
# Cancel one appointment of the series from the patient's page: the appointment, Cancel in series, Cancel
# appointments = 3 (the page presets "this appointment only").
CANCEL_CLICKS = 3
# Fill the freed time from the cancelled appointment's page: Book <the top candidate> = 1.
FILL_CLICKS = 1


def checked(page):
    """Each page visited: no serious accessibility violation, and nothing wider than the screen (390 px too)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{page.url} scrolls sideways"
    assert_no_serious_axe_violations(page)


def listed(appointment):
    """An appointment as a patient's page lists it ("Tue 15 Dec 2026 09:00")."""
    return appointment.local_start.strftime("%a %-d %b %Y %H:%M")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_book_a_weekly_series_then_fill_a_cancelled_week_from_the_waitlist(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="rita", first_name="Rita", last_name="Reception", password=PASSWORD, roles=[RECEPTIONIST])
    physio = SpecialtyFactory(name="Physiotherapy")
    osei = DoctorFactory(user__first_name="Kwame", user__last_name="Osei", specialty=physio, hours=EVERY_DAY)
    # Another physiotherapist, so that the doctor is a real choice on each form.
    DoctorFactory(user__first_name="Ilse", user__last_name="Berg", specialty=physio, hours=EVERY_DAY)
    zoe = PatientFactory(first_name="Zoë", last_name="Łukasiewicz")
    hoa = PatientFactory(first_name="Thị Hoa", last_name="Nguyễn")
    first_day = timezone.localdate() + timedelta(days=1)
    clash_day = first_day + timedelta(weeks=2)  # the 3rd week of the series
    bruno = AppointmentFactory(
        doctor=osei, patient=PatientFactory(first_name="Bruno", last_name="Busy"), start=local(clash_day, 9)
    )

    sign_in(page, "rita", PASSWORD)
    click = Clicks()

    # 1. Zoë's six weekly sessions, from her page (found by search: not counted here).
    page.goto(zoe.get_absolute_url())
    checked(page)
    click(page.get_by_role("link", name="Book a series"))
    expect(page.get_by_role("heading", name="Book a series")).to_be_visible()
    expect(page.get_by_text("For Zoë Łukasiewicz")).to_be_visible()
    click.choose(page.get_by_label("Doctor"), label="Dr Kwame Osei — Physiotherapy")
    page.get_by_label("Date").fill(first_day.isoformat())
    page.get_by_label("Time").fill("09:00")
    page.get_by_label("Number of appointments").fill("6")
    page.get_by_label("Reason for visit").fill("Knee rehab")
    checked(page)
    click(page.get_by_role("button", name="List the appointments"))

    third = page.get_by_role("group", name=re.compile(r"^3\. "))
    expect(third).to_contain_text("Clash:")
    expect(third).to_contain_text("Osei already has an appointment")
    expect(page.get_by_role("button", name="Book 5 appointments")).to_be_visible()  # the clash skipped as listed
    checked(page)
    click(third.get_by_label("At 09:20"))
    click(page.get_by_role("button", name="Book 6 appointments"))
    expect(page.get_by_role("status")).to_contain_text("Booked 6 appointments for Zoë Łukasiewicz with Dr Kwame Osei")
    expect(page.get_by_role("heading", name="Part of a weekly series (1 of 6)")).to_be_visible()
    checked(page)
    assert click.count == SERIES_CLICKS

    series = Series.objects.get(patient=zoe)
    booked = list(series.appointments.order_by("start"))
    assert [a.local_start.strftime("%H:%M") for a in booked] == ["09:00", "09:00", "09:20", "09:00", "09:00", "09:00"]
    assert [a.local_start.date() for a in booked] == [first_day + timedelta(weeks=n) for n in range(6)]

    # 2. Hoa would come sooner if Dr Osei had a free time: on his waitlist, from her page.
    page.goto(hoa.get_absolute_url())
    expect(page.get_by_role("heading", name=re.compile("^NGUYỄN, Thị Hoa"))).to_be_visible()
    checked(page)
    click(page.get_by_role("link", name="Add to the waitlist"))
    expect(page.get_by_text("For Thị Hoa Nguyễn")).to_be_visible()
    click.choose(page.get_by_label("Doctor"), label="Dr Kwame Osei — Physiotherapy")
    checked(page)
    click(page.get_by_role("button", name="Add to the waitlist"))
    expect(page.get_by_role("status")).to_contain_text("Thị Hoa Nguyễn is on the waitlist for Dr Kwame Osei.")
    expect(page.get_by_role("row").filter(has_text="NGUYỄN, Thị Hoa")).to_be_visible()
    checked(page)
    assert click.count == SERIES_CLICKS + WAITLIST_CLICKS

    # 3. Zoë phones: not the 2nd week. Her page lists it; cancel that one only, the rest of the series stays.
    second = booked[1]
    page.goto(zoe.get_absolute_url())
    click(page.get_by_role("link", name=listed(second)))
    expect(page.get_by_role("heading", name="Part of a weekly series (2 of 6)")).to_be_visible()
    checked(page)
    click(page.get_by_role("link", name="Cancel in series"))
    expect(page.get_by_label("This appointment only (1 to change)")).to_be_checked()
    checked(page)
    page.get_by_label("Reason for cancelling").fill("Patient phoned: away that week")
    click(page.get_by_role("button", name="Cancel appointments"))
    expect(page.get_by_role("status")).to_contain_text("Cancelled 1 appointment; its time is free again.")
    expect(page.get_by_role("heading", name=re.compile("^Appointment"))).to_contain_text("Cancelled")
    assert click.count == SERIES_CLICKS + WAITLIST_CLICKS + CANCEL_CLICKS

    # On the cancelled appointment's page: its time is free again, and Hoa fits it.
    freed = page.get_by_role("region", name=re.compile("This time is free again"))
    expect(freed).to_contain_text("This time is free again — 1 on the waitlist fits")
    expect(freed.get_by_role("listitem").first).to_contain_text("Thị Hoa Nguyễn")
    checked(page)

    # 4. One click books her into it.
    click(freed.get_by_role("button", name="Book Thị Hoa Nguyễn"))
    expect(page.get_by_role("status")).to_contain_text("Booked from the waitlist: Thị Hoa Nguyễn with Dr Kwame Osei")
    expect(page.get_by_role("heading", name=re.compile("^Appointment"))).to_contain_text("Scheduled")
    checked(page)
    assert click.count == SERIES_CLICKS + WAITLIST_CLICKS + CANCEL_CLICKS + FILL_CLICKS

    # The series: the 2nd cancelled, the other five as booked.
    after = list(series.appointments.order_by("start").values_list("pk", "start", "status"))
    assert after == [(a.pk, a.start, "cancelled" if a.pk == second.pk else "scheduled") for a in booked]
    # Hoa: exactly the freed time, with Dr Osei, on her own (not in Zoë's series); her entry off the waitlist.
    hoas = Appointment.objects.active().get(patient=hoa)
    assert (hoas.doctor, hoas.start, hoas.end, hoas.series_id) == (osei, second.start, second.end, None)
    entry = WaitlistEntry.objects.get(patient=hoa)
    assert (entry.status, entry.appointment) == (WaitlistEntry.Status.BOOKED, hoas)
    # Nobody double-booked: Dr Osei's active appointments never overlap (Bruno's included).
    diary = list(Appointment.objects.active().filter(doctor=osei).order_by("start").values_list("start", "end"))
    assert len(diary) == 7  # Zoë's five, Hoa's, Bruno's
    assert all(end <= next_start for (_, end), (next_start, _) in zip(diary, diary[1:], strict=False))
    assert Appointment.objects.active().filter(pk=bruno.pk).exists()

    # The cancelled page no longer offers its time, and the waitlist no longer lists Hoa.
    page.goto(second.get_absolute_url())
    expect(page.get_by_role("heading", name="Part of a weekly series (2 of 6)")).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("This time is free again"))).to_have_count(0)
    page.goto("/waitlist/")
    expect(page.get_by_role("heading", name="Waitlist", exact=True)).to_be_visible()
    expect(page.get_by_text("NGUYỄN, Thị Hoa")).to_have_count(0)
    checked(page)

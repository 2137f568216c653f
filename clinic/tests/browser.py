"""Browser tests: Debian's Chromium driven by pytest-playwright against pytest-django's live server.

The root conftest.py loads this module as a plugin (`pytest_plugins`), so every app's browser
test gets these fixtures and one shared live server. A browser test is marked
`@pytest.mark.browser` and `@pytest.mark.django_db(transaction=True)` (the live
server's thread must see what the test wrote) and asks for `page`; `page.goto("/path/")` goes to the
live server.

`playwright install` cannot download browsers here, so Playwright launches the system Chromium
(`/usr/bin/chromium`). When it is missing the set-up tries `apt-get install -y chromium` (as root,
where apt-get exists); if there is still no browser, the test is skipped with a hint, or fails when
the environment variable CI is set, so a CI run never passes by silently testing nothing.
"""

import os
import shutil
import subprocess
import time as clock
from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

# An expectation waits up to 15 s, not Playwright's 5: on a busy CI machine (a full run of 8,800
# tests), Swagger's and Redoc's first render of the whole schema has taken over 5 s. A
# missing element still fails the test; only a failing test waits longer.
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APT_TIMEOUT = 900  # seconds, for each apt-get step


def _usable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _apt_get(*args):
    """Run apt-get non-interactively; (succeeded, last lines of its output)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            ["apt-get", *args], env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
    return done.returncode == 0, tail


def install_chromium():
    """Try Debian's chromium package; a list of what was tried and how it ended, for the message."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ["not running as root, so `apt-get install chromium` was not tried"]
    if shutil.which("apt-get") is None:
        return ["apt-get is not available, so no install was tried"]
    ok, output = _apt_get("install", "-y", "chromium")
    notes = [f"`apt-get install -y chromium` {'succeeded' if ok else 'failed'}: {output}"]
    if not ok:
        # A fresh container often has no package lists yet.
        ok, output = _apt_get("update")
        notes.append(f"`apt-get update` {'succeeded' if ok else 'failed'}: {output}")
        if ok:
            ok, output = _apt_get("install", "-y", "chromium")
            notes.append(f"`apt-get install -y chromium` {'succeeded' if ok else 'failed'}: {output}")
    return notes


def in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_or_install_chromium(path=CHROMIUM):
    """The Chromium executable to launch; skips the test (fails it under CI) when there is none."""
    if _usable(path):
        return path
    notes = install_chromium()
    if _usable(path):
        return path
    message = (
        f"Browser tests need Chromium at {path}, and it is not there ("
        + "; ".join(notes)
        + "). Enable them by installing Debian's chromium package: `sudo apt-get install chromium`."
    )
    if in_ci():
        pytest.fail(f"CI is set, so a missing browser is an error, not a skip. {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    """Path of the Chromium binary browser tests launch (found, installed, or the test is skipped)."""
    return find_or_install_chromium()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium):
    """pytest-playwright's launch options, pointed at the system Chromium."""
    # Playwright's sync API keeps an event loop running in the main thread for the rest of the
    # session, and Django then refuses ORM calls from that thread (SynchronousOnlyOperation): the
    # factories in a test and every later database test. Nothing here is actually asynchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    return {**browser_type_launch_args, "executable_path": chromium, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    """Relative URLs in page.goto() resolve against the live server.

    Not by overriding `base_url`: pytest-base-url requests that for every test (autouse), which
    would start the live server and make every test in the project transactional and slow.
    """
    return {**browser_context_args, "base_url": live_server.url}


@pytest.fixture(autouse=True)
def _no_content_security_policy_violations(request):
    """Every browser journey also proves the pages work under the Content Security Policy: a
    blocked inline script or style (or any other violation) reported by Chromium fails the test."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield
    # A third party's page the site serves may try what the policy forbids, on purpose blocked: the test
    # names each such thing, `@pytest.mark.csp_blocks("its address")`, and nothing else may be.
    marker = request.node.get_closest_marker("csp_blocks")
    expected = marker.args if marker else ()
    assert [text for text in violations if not any(blocked in text for blocked in expected)] == []


class Clicks:
    """Clicks a person makes, counted for the journeys' budgets (typing is not counted)."""

    def __init__(self):
        self.count = 0

    def __call__(self, locator):
        locator.click()
        self.count += 1

    def choose(self, locator, **option):
        """Choosing from a list (a <select>) is one click."""
        locator.select_option(**option)
        self.count += 1


def sign_in(page, username, password):
    """Sign in through the login page, the way a person does."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    # The next page is waited for until it has loaded: its deferred scripts (live search, a board
    # that changes in place) attach only then, and a journey's first action must not outrun them.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()


def today_with_time_to_spare(margin=timedelta(minutes=1)):
    """Today's clinic-local date, waiting out the last minute before midnight.

    Journeys make today's appointments, check them in and read today's pages: the date must not
    turn over half-way.
    """
    now = timezone.localtime()
    midnight = timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), time.min))
    if midnight - now < margin:
        clock.sleep((midnight - now).total_seconds() + 1)
    return timezone.localdate()


def _plain_wall_time(day, at):
    """True when `at` on `day` happens exactly once in the clinic's time zone (not in a DST gap or overlap)."""
    zone = timezone.get_current_timezone()
    naive = datetime.combine(day, at)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return first.utcoffset() == second.utcoffset() and round_trip == naive


def wall_times(day, early, fallback):
    """The early wall times, unless a clock change falls on one of them that day (zones that
    change clocks at midnight); then the fallback ones."""
    return early if all(_plain_wall_time(day, at) for at in early) else fallback


AXE_FAILING_IMPACTS = ("serious", "critical")


def assert_no_serious_axe_violations(page):
    """axe-core finds no serious or critical accessibility violation on the page `page` shows.

    axe is injected as a script, which the clinic's Content Security Policy rightly refuses; so the page's
    address is loaded again in a second browser context that ignores the policy, with the same session
    cookies and window size, and checked there. The journey's own page stays under the policy. What only
    the journey's clicks and scrolling made (an open menu, a filled form) is not in the second page.
    """
    # Imported here so that loading this plugin does not read axe.min.js for every test.
    from axe_playwright_python.base import AXE_SCRIPT  # bundled with the package: nothing is fetched at run time

    context = page.context.browser.new_context(
        bypass_csp=True, viewport=page.viewport_size, storage_state=page.context.storage_state()
    )
    try:
        checked = context.new_page()
        checked.goto(page.url)
        # A lost session would send the check to the sign-in page and pass it there.
        assert checked.url == page.url, f"the accessibility check landed on {checked.url}, not {page.url}"
        checked.evaluate(AXE_SCRIPT)
        results = checked.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    finally:
        context.close()
    serious = [v for v in results["violations"] if v["impact"] in AXE_FAILING_IMPACTS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']} <{v['helpUrl']}>\n"
        + "\n".join(f"    {' '.join(node['target'])}: {node['failureSummary']}" for node in v["nodes"])
        for v in serious
    )
    if serious:
        pytest.fail(f"axe-core on {page.url}:\n{report}", pytrace=False)

"""Every text colour the stylesheet puts on a background of its own reads at WCAG AA (4.5:1), computed from
static/css/clinic.css itself, so a later change of a colour or a custom property cannot fall below it unnoticed.

axe-core found the completed-visit badge (`--ok` on `--ok-soft`) at 4.43:1 on 159 chart nodes; these tests fail
on that value.
"""

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "clinic.css"
AA = 4.5
HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def rules(css):
    """(selector, {property: value}) for every innermost rule, comments dropped, @media blocks opened."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                declarations[name.strip().lower()] = value.strip()
        yield " ".join(selector.split()), declarations


def custom_properties(css):
    return {name[2:]: value for selector, body in rules(css) if selector == ":root" for name, value in body.items()}


def resolve(value, variables):
    """A plain #rrggbb for a colour value (a hex or var(--name) of one); None for anything else (gradients,
    rgba, transparent, inherit): those are not checked here."""
    value = value.strip().removesuffix("!important").strip()
    var = re.fullmatch(r"var\(--([\w-]+)\)", value)
    if var:
        return resolve(variables[var.group(1)], variables)
    if value in ("#fff", "#ffffff", "white"):
        return "#ffffff"
    if HEX.fullmatch(value):
        return "#" + "".join(c * 2 for c in value[1:]) if len(value) == 4 else value.lower()
    return None


def luminance(colour):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground, background):
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_is_computed_as_wcag_defines_it():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#2e7d4f", "#e5f4ea") == pytest.approx(4.43, abs=0.01)  # the badge axe-core flagged


STYLESHEET = CSS.read_text()
VARIABLES = custom_properties(STYLESHEET)


def own_pairs():
    """(selector, text colour, background) of each rule that sets both to plain colours."""
    for selector, body in rules(STYLESHEET):
        background = body.get("background-color") or body.get("background")
        if "color" in body and background:
            text, behind = resolve(body["color"], VARIABLES), resolve(background, VARIABLES)
            if text and behind:
                yield selector, text, behind


def test_the_stylesheet_has_pairs_to_check():
    selectors = [selector for selector, _, _ in own_pairs()]
    assert {".status-completed", ".status-checked_in", ".status-in_progress", ".tag", ".message.success"} <= set(
        selectors
    )


@pytest.mark.parametrize(("selector", "text", "background"), list(own_pairs()))
def test_every_rule_with_its_own_background_reads_at_aa(selector, text, background):
    ratio = contrast(text, background)
    assert ratio >= AA, f"{selector}: {text} on {background} is {ratio:.2f}:1"


# Text that takes its background from elsewhere: a rule's colour on the page, on a card, and links on the
# calendar's coloured cells.
INHERITED = [
    (text, behind)
    for text in ("text", "muted", "accent", "accent-dark", "ok", "warn", "danger")
    for behind in ("surface", "bg")
] + [
    ("accent", "accent-soft"),  # a link in a booked calendar cell
    ("accent", "ok-soft"),  # ... a completed one
    ("accent", "warn-soft"),  # ... a checked-in one
    ("muted", "accent-soft"),  # the free slot's "+" while hovered
]


@pytest.mark.parametrize(("text", "background"), INHERITED)
def test_colours_on_inherited_backgrounds_read_at_aa(text, background):
    ratio = contrast(resolve(f"var(--{text})", VARIABLES), resolve(f"var(--{background})", VARIABLES))
    assert ratio >= AA, f"--{text} on --{background} is {ratio:.2f}:1"

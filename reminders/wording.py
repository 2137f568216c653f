"""The wording of reminders: templates a manager writes with {placeholders}, checked when saved.

Python's str.format() language, limited to plain names: "{patient}" is filled in, "{{" and "}}" are a
literal brace. Anything else ("{patient.name}", "{0}", "{when!r}", "{when:%H}", an unknown name or a
lone brace) is refused with a message for the field, so a template that was saved can always be filled
in at send time (no error there, where nobody would see it).
"""

import string

from django.core.exceptions import ValidationError

PLACEHOLDERS = {
    "patient": "the patient's first and last name",
    "when": "the appointment's day and time, in the clinic's time zone",
    "doctor": "the doctor's name",
    "clinic": "the clinic's name",
    "address": "the clinic's address",
    "phone": "the clinic's phone number",
    "confirm_link": "the link to confirm the appointment",
    "cancel_link": "the link to cancel the appointment",
    "opt_out_link": "the link to stop reminders on this channel",
}

_FORMATTER = string.Formatter()


def placeholders_help():
    return "Placeholders: " + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items()) + "."


def check_template(text):
    """Raise ValidationError naming what is wrong with `text` as a reminder template."""
    try:
        parts = list(_FORMATTER.parse(text or ""))
    except ValueError:
        raise ValidationError(
            "A brace is not closed or not opened. Write placeholders as {patient}; "
            'for a brace itself write "{{" or "}}".',
            code="malformed",
        ) from None
    unknown = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if spec or conversion:
            raise ValidationError(
                f"Write the placeholder {{{name}}} without a format or conversion (nothing after a : or !).",
                code="malformed",
            )
        if name not in PLACEHOLDERS:
            unknown.append(name or "{}")
    if unknown:
        names = ", ".join(f"{{{name}}}" if name != "{}" else "{}" for name in unknown)
        raise ValidationError(
            f"Unknown placeholder {names}. Use only: " + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS) + ".",
            code="unknown_placeholder",
        )


def uses(text, name):
    """Whether the template fills in {name} (a literal "{{name}}" does not)."""
    return any(field == name for _literal, field, _spec, _conversion in _FORMATTER.parse(text or ""))


def fill(text, values):
    """The template with its placeholders filled in (check_template passed when it was saved)."""
    return text.format_map({name: values.get(name, "") for name in PLACEHOLDERS})

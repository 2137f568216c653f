"""Reading FHIR search parameters: what each one means for the clinic's querysets.

Searches are strict: a parameter this server does not know is refused (400), rather than ignored, so
a typo never widens a search to every patient. Dates take FHIR's prefixes (eq, ge, gt, le, lt).
"""

import re
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotAcceptable, ValidationError

# Understood by every search: paging, and the format (JSON is the only one).
COMMON = {"_count", "_offset", "_format"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 10_000

_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.+)$")
_ID = re.compile(r"^(?:(?P<type>[A-Za-z]+)/)?(?P<id>[A-Za-z0-9\-.]{1,64})$")


def refuse(param, message):
    raise ValidationError({param: [message]})


def check_known(params, known):
    for name in params:
        if any("\x00" in value for value in [name, *params.getlist(name)]):
            refuse(name.replace("\x00", ""), "A search parameter cannot contain a NUL character.")
    wanted = params.get("_format", "json").split(";")[0].strip()
    if wanted not in JSON_FORMATS:
        raise NotAcceptable("This server answers in JSON only (_format=json).")
    unknown = sorted(set(params) - set(known) - COMMON)
    if unknown:
        refuse(unknown[0], f"This server does not support the search parameter {unknown[0]!r}.")


def one(params, name):
    values = params.getlist(name)
    if len(values) > 1:
        refuse(name, f"Give {name} once.")
    value = values[0].strip() if values else ""
    return value or None


def number(params, name, default, low, high):
    value = one(params, name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        refuse(name, f"{name} must be a whole number from {low} to {high}.")
    return int(value)


def paging(params):
    return number(params, "_count", DEFAULT_COUNT, 1, MAX_COUNT), number(params, "_offset", 0, 0, MAX_OFFSET)


def reference_id(params, name, resource_type, *, integer=True):
    """The id in `name` ("12" or "Patient/12"), or None when the parameter is not given."""
    value = one(params, name)
    if value is None:
        return None
    match = _ID.match(value)
    if not match or (match["type"] and match["type"] != resource_type) or (integer and not match["id"].isdigit()):
        refuse(name, f"{name} must be a {resource_type} id, e.g. {resource_type}/123.")
    ident = match["id"]
    if integer:
        if len(ident) > 18:
            refuse(name, f"{name} is not an id of this server.")
        return int(ident)
    return ident


def token(params, name):
    """(system or None, code) of a token parameter ("system|code" or "code")."""
    value = one(params, name)
    if value is None:
        return None
    system, _, code = value.rpartition("|")
    if not code:
        refuse(name, f"{name} needs a code.")
    return (system or None, code)


def boolean(params, name):
    value = one(params, name)
    if value is None:
        return None
    if value not in ("true", "false"):
        refuse(name, f"{name} must be true or false.")
    return value == "true"


def _interval(name, text):
    """[low, high) of a FHIR date or dateTime: a day, a month, a year, or an instant."""
    try:
        if re.fullmatch(r"\d{4}", text):
            low = date(int(text), 1, 1)
            return low, date(low.year + 1, 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            low = date(int(text[:4]), int(text[5:]), 1)
            return low, (low + timedelta(days=32)).replace(day=1)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            low = date.fromisoformat(text)
            return low, low + timedelta(days=1)
        moment = parse_datetime(text)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        refuse(name, f"{name} must be a date (YYYY-MM-DD) or a date and time, with a prefix such as ge or lt.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment, moment + timedelta(seconds=1)


def _aware(value):
    if isinstance(value, datetime):
        return value
    return timezone.make_aware(datetime.combine(value, time.min))


def date_filters(params, name, field, *, is_date=False):
    """Django lookups {field__gte: ...} for every `name` parameter given (they all apply)."""
    lookups = {}
    for raw in params.getlist(name):
        match = _PREFIX.match(raw.strip())
        if not match:
            refuse(name, f"{name} needs a value.")
        prefix, text = match[1] or "eq", match[2]
        if prefix not in ("eq", "gt", "lt", "ge", "le"):
            refuse(name, f"The prefix {prefix!r} is not supported; use eq, ge, gt, le or lt.")
        low, high = _interval(name, text)
        if is_date:
            low = low.date() if isinstance(low, datetime) else low
            high = high.date() if isinstance(high, datetime) else high
            if low == high:
                high = low + timedelta(days=1)
        else:
            low, high = _aware(low), _aware(high)
        bounds = {
            "eq": [("gte", low), ("lt", high)],
            "ge": [("gte", low)],
            "gt": [("gte", high)],
            "lt": [("lt", low)],
            "le": [("lt", high)],
        }[prefix]
        for lookup, value in bounds:
            key = f"{field}__{lookup}"
            if key in lookups:  # two lower (or upper) bounds: the tighter one holds
                value = max(value, lookups[key]) if lookup == "gte" else min(value, lookups[key])
            lookups[key] = value
    return lookups


def date_bounds(params, name):
    """(earliest, latest) instants of `name` (for a computed list such as free slots)."""
    lookups = date_filters(params, name, "x")
    return lookups.get("x__gte"), lookups.get("x__lt")

"""One way to change a status: a transition table per model and a locked `transition()`.

A model declares its lifecycle once:

    class TreatmentPlan(Audited, models.Model):
        lifecycle = Lifecycle({Status.DRAFT: {Status.ACTIVE, Status.CANCELLED}, ...}, noun="plan")

and its services move it with `transition(plan, Status.ACTIVE, by=user, start_date=...)`: the stored
status is read under a row lock (two clicks at once cannot both pass the check), a move the table
does not list is refused with `InvalidTransition` naming both statuses, and only the status and the
given fields are written. Pages ask `allowed_next(obj)` which buttons to offer. The model's save()
calls `refuse_illegal_change()` as the last line, for writers that go around the services.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.audit import lock_rows


class InvalidTransition(ValidationError):
    """A status change the object's lifecycle does not allow."""


@dataclass(frozen=True)
class Lifecycle:
    table: dict  # {status: set of statuses that may follow it}
    noun: str  # "This <noun> is draft; ..."
    verb: str = "become"  # "...; it cannot <verb> completed."
    status_field: str = field(default="status")

    def allowed(self, current, wanted):
        return wanted in self.table.get(current, ())

    def refusal(self, model, current, wanted):
        status = model._meta.get_field(self.status_field)
        labels = dict(status.flatchoices)
        return InvalidTransition(
            f"This {self.noun} is {str(labels.get(current, current)).lower()}; "
            f"it cannot {self.verb} {str(labels.get(wanted, wanted)).lower()}.",
            code="invalid_transition",
        )


def allowed_next(obj):
    """The statuses that may follow the object's current one."""
    lifecycle = type(obj).lifecycle
    return set(lifecycle.table[getattr(obj, lifecycle.status_field)])


def refuse_illegal_change(obj):
    """For save(): refuse a status change the table does not list, measured from the status the
    object was loaded with (or last read under a lock). A new object may start anywhere."""
    lifecycle = type(obj).lifecycle
    loaded = getattr(obj, "_audit_loaded", None)
    if obj._state.adding or not loaded or lifecycle.status_field not in loaded:
        return
    current, wanted = loaded[lifecycle.status_field], getattr(obj, lifecycle.status_field)
    if current != wanted and not lifecycle.allowed(current, wanted):
        raise lifecycle.refusal(type(obj), current, wanted)


def transition(obj, new_status, *, by, reread=(), **fields):
    """Move `obj` to `new_status` under a row lock and save the status with `fields`.

    `by` is who asks (services pass it on; the audit entry names the signed-in user). `reread` names
    fields to take from the locked row rather than from this (perhaps stale) copy; a callable in
    `fields` is given the object after that re-read (a plan's start date: the stored one, or today).
    """
    model = type(obj)
    lifecycle = model.lifecycle
    name = lifecycle.status_field
    with transaction.atomic():
        stored = lock_rows(model.objects).values(name, *reread).get(pk=obj.pk)
        current = stored[name]
        if not lifecycle.allowed(current, new_status):
            raise lifecycle.refusal(model, current, new_status)
        # The trail names the change from the row, and save() measures the move from it.
        obj.audit_read_under_lock(**stored)
        for stored_name in reread:
            setattr(obj, stored_name, stored[stored_name])
        setattr(obj, name, new_status)
        for field_name, value in fields.items():
            setattr(obj, field_name, value(obj) if callable(value) else value)
        names = [name, *reread, *fields]
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            names.append("updated_at")
        obj.save(update_fields=names)
    return obj

"""What the admin's change form would post, for tests that change one field of it."""

from django.forms import CheckboxInput, MultiWidget


def form_data(response):
    """What the admin's change form on this page would post as it stands: the main form's current
    values and every inline formset's management form and rows (for a test to change one field)."""
    context = response.context
    forms = [context["adminform"].form]
    data = {}
    for inline in context.get("inline_admin_formsets", []):
        formset = inline.formset
        forms.extend(formset.forms)
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    for form in forms:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            key, value, widget = form.add_prefix(name), form[name].value(), field.widget
            if isinstance(widget, MultiWidget):
                parts = value if isinstance(value, list) else widget.decompress(value)
                for i, (sub, part) in enumerate(zip(widget.widgets, parts, strict=True)):
                    data[f"{key}_{i}"] = sub.format_value(part) or ""
            elif isinstance(widget, CheckboxInput):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            elif value is not None:
                data[key] = str(value)
    return data

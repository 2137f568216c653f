"""CSV and spreadsheet exports of a changelist's filtered rows.

Each ModelAdmin declares `export_columns`: (header, function of the row). Text cells that a
spreadsheet would run as a formula are defused (OWASP "CSV injection"); amounts stay numbers.
"""

import csv
import io
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    if isinstance(value, (Decimal, int)) or value is None:
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value):
        return value


def _rows(columns, queryset):
    yield [header for header, _ in columns]
    for obj in queryset.iterator(chunk_size=2000):
        yield [safe_text(value(obj)) for _, value in columns]


def _filename(name, extension):
    return f"{name}-{timezone.localdate():%Y-%m-%d}.{extension}"


def csv_response(name, columns, queryset):
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(["" if cell is None else cell for cell in row]) for row in _rows(columns, queryset)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(name, "csv")}"'
    return response


def xlsx_response(name, columns, queryset):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=name[:31])
    for row in _rows(columns, queryset):
        sheet.append(row)  # openpyxl writes Decimal as a number cell, exactly
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(name, "xlsx")}"'
    return response


def currency(_obj):
    return settings.CLINIC_CURRENCY

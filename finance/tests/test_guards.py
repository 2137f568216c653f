"""The database's own guard of closed months (finance/guards.py), tested by going around the application.

Raw SQL skips every model and queryset check, so only the triggers can refuse it; the same statements
in an open month are the control. Each refusal runs inside atomic() so that on PostgreSQL the failed
statement does not poison the test's transaction.
"""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from finance import guards
from finance.models import ClosedMonth, Expense, OtherIncome, Payment, first_of_month
from finance.signals import reinstall_finance_guards
from finance.tests.factories import ClosedMonthFactory, ExpenseFactory, OtherIncomeFactory, PaymentFactory

pytestmark = pytest.mark.django_db

ENTRIES = [
    pytest.param(ExpenseFactory, id="expense"),
    pytest.param(OtherIncomeFactory, id="other-income"),
    pytest.param(PaymentFactory, id="payment"),
]
CLOSED_MONTH = ClosedMonth._meta.db_table


@contextmanager
def refused_by_the_database():
    with pytest.raises(IntegrityError, match=guards.CLOSED), transaction.atomic():
        yield


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def today():
    return timezone.localdate()


def last_month():
    return first_of_month(first_of_month(today()) - timedelta(days=1))


def last_day_of_last_month():
    return first_of_month(today()) - timedelta(days=1)


def month_before_last():
    return first_of_month(last_month() - timedelta(days=1))


def table(entry):
    return type(entry)._meta.db_table


def insert_copy(entry, date):
    """INSERT a copy of `entry`'s row dated `date`, by raw SQL (a payment gets a new receipt number)."""
    model = type(entry)
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = []
    params = []
    for column in columns:
        if column == "date":
            values.append("%s")
            params.append(date)
        elif column == "receipt_number":
            values.append("%s")
            params.append(f"RAW-{entry.pk}")
        else:
            values.append(connection.ops.quote_name(column))
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    return sql(
        f"INSERT INTO {table(entry)} ({quoted}) SELECT {', '.join(values)} FROM {table(entry)} WHERE id = %s",
        [*params, entry.pk],
    )


def stored(entry):
    return type(entry).objects.filter(pk=entry.pk).values("date", "amount").get()


@pytest.fixture
def closed_entry(request):
    """An entry dated in last month, then last month closed."""
    entry = request.param(date=last_month())
    ClosedMonthFactory(month=last_month())
    return entry


def closed_entries(test):
    return pytest.mark.parametrize("closed_entry", ENTRIES, indirect=True)(test)


# --- entries dated in a closed month ------------------------------------------------------------


@closed_entries
def test_raw_insert_into_a_closed_month_is_refused(closed_entry):
    with refused_by_the_database():
        insert_copy(closed_entry, last_day_of_last_month())

    assert type(closed_entry).objects.count() == 1


@closed_entries
def test_raw_update_of_the_amount_in_a_closed_month_is_refused(closed_entry):
    with refused_by_the_database():
        sql(f"UPDATE {table(closed_entry)} SET amount = %s WHERE id = %s", [Decimal("1.00"), closed_entry.pk])

    assert stored(closed_entry)["amount"] == closed_entry.amount


@closed_entries
def test_raw_update_of_any_column_in_a_closed_month_is_refused(closed_entry):
    with refused_by_the_database():
        sql(f"UPDATE {table(closed_entry)} SET notes = 'changed' WHERE id = %s", [closed_entry.pk])

    assert type(closed_entry).objects.get(pk=closed_entry.pk).notes == ""


@closed_entries
@pytest.mark.parametrize(
    "new_date", [today, last_day_of_last_month, month_before_last], ids=["to-open", "within", "to-earlier"]
)
def test_raw_update_of_the_date_of_an_entry_in_a_closed_month_is_refused(closed_entry, new_date):
    with refused_by_the_database():
        sql(f"UPDATE {table(closed_entry)} SET date = %s WHERE id = %s", [new_date(), closed_entry.pk])

    assert stored(closed_entry)["date"] == last_month()


@pytest.mark.parametrize("factory", ENTRIES)
def test_raw_update_moving_an_open_months_entry_into_a_closed_month_is_refused(factory):
    entry = factory(date=today())
    ClosedMonthFactory(month=last_month())

    with refused_by_the_database():
        sql(f"UPDATE {table(entry)} SET date = %s WHERE id = %s", [last_day_of_last_month(), entry.pk])

    assert stored(entry)["date"] == today()


@closed_entries
def test_raw_delete_in_a_closed_month_is_refused(closed_entry):
    with refused_by_the_database():
        sql(f"DELETE FROM {table(closed_entry)} WHERE id = %s", [closed_entry.pk])

    assert type(closed_entry).objects.filter(pk=closed_entry.pk).exists()


def test_a_statement_touching_one_closed_row_changes_no_row():
    open_ = ExpenseFactory(date=today(), notes="open")
    ExpenseFactory(date=last_month(), notes="closed")
    ClosedMonthFactory(month=last_month())

    with refused_by_the_database():
        sql(f"UPDATE {Expense._meta.db_table} SET notes = 'bulk'")
    with refused_by_the_database():
        sql(f"DELETE FROM {Expense._meta.db_table}")

    assert sorted(Expense.objects.values_list("notes", flat=True)) == ["closed", "open"]
    assert Expense.objects.filter(pk=open_.pk).exists()


# --- the same statements in open months go through -----------------------------------------------


@pytest.mark.parametrize("factory", ENTRIES)
def test_raw_insert_update_and_delete_in_open_months_succeed(factory):
    ClosedMonthFactory(month=month_before_last())  # a closed month elsewhere changes nothing here
    entry = factory(date=last_month())
    model = type(entry)

    assert insert_copy(entry, today()) == 1
    copy = model.objects.exclude(pk=entry.pk).get()
    assert copy.date == today()
    assert sql(f"UPDATE {table(entry)} SET amount = %s WHERE id = %s", [Decimal("1.00"), entry.pk]) == 1
    assert sql(f"UPDATE {table(entry)} SET date = %s WHERE id = %s", [today(), entry.pk]) == 1
    assert stored(entry) == {"date": today(), "amount": Decimal("1.00")}
    assert sql(f"DELETE FROM {table(entry)} WHERE id IN (%s, %s)", [entry.pk, copy.pk]) == 2

    assert not model.objects.exists()


# --- closed months themselves -------------------------------------------------------------------


def test_raw_update_of_a_closed_month_is_refused():
    closed = ClosedMonthFactory(month=last_month())

    with refused_by_the_database():
        sql(f"UPDATE {CLOSED_MONTH} SET month = %s WHERE id = %s", [month_before_last(), closed.pk])
    with refused_by_the_database():
        sql(f"UPDATE {CLOSED_MONTH} SET note = 'reopened' WHERE id = %s", [closed.pk])

    assert ClosedMonth.objects.filter(pk=closed.pk).values_list("month", "note").get() == (last_month(), "")


def test_raw_delete_of_a_closed_month_is_refused():
    closed = ClosedMonthFactory(month=last_month())

    with refused_by_the_database():
        sql(f"DELETE FROM {CLOSED_MONTH} WHERE id = %s", [closed.pk])

    assert ClosedMonth.objects.filter(pk=closed.pk).exists()


def test_raw_insert_of_a_closed_month_goes_through():
    """Closing is the one change the table allows."""
    closer = ClosedMonthFactory(month=last_month()).closed_by

    sql(
        f"INSERT INTO {CLOSED_MONTH} (month, closed_by_id, closed_at, note) VALUES (%s, %s, %s, '')",
        [month_before_last(), closer.pk, timezone.now()],
    )

    assert set(ClosedMonth.objects.values_list("month", flat=True)) == {last_month(), month_before_last()}


# --- the triggers are installed, and installing them again changes nothing ----------------------


def installed_triggers():
    """(trigger, table) pairs of the finance guards as the database lists them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", ["finance%"]
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND t.tgname LIKE %s",
                ["finance%"],
            )
        else:  # pragma: no cover - the project runs on these two
            pytest.skip(f"no finance guards on {connection.vendor}")
        return sorted(cursor.fetchall())


def expected_triggers():
    entry_tables = [m._meta.db_table for m in (Expense, OtherIncome, Payment)]
    if connection.vendor == "sqlite":
        pairs = [(f"{t}_closed_{op}", t) for t in entry_tables for op in ("insert", "update", "delete")]
        pairs += [(f"{CLOSED_MONTH}_{op}", CLOSED_MONTH) for op in ("update", "delete")]
    else:
        pairs = [(f"{t}_closed_guard", t) for t in entry_tables] + [(f"{CLOSED_MONTH}_guard", CLOSED_MONTH)]
    return sorted(pairs)


def drop_one_trigger():
    if connection.vendor == "sqlite":
        sql("DROP TRIGGER finance_payment_closed_update")
    else:
        sql("DROP TRIGGER finance_payment_closed_guard ON finance_payment")


def test_the_triggers_exist_after_migrations_on_every_entry_table():
    assert installed_triggers() == expected_triggers()
    assert len(installed_triggers()) == (11 if connection.vendor == "sqlite" else 4)
    assert {t for _, t in installed_triggers()} == set(guards.ENTRY_TABLES) | {CLOSED_MONTH}


def test_installing_the_guards_again_is_harmless(closed_payment):
    guards.install_finance_guards(connection)
    guards.install_finance_guards(connection)

    assert installed_triggers() == expected_triggers()
    with refused_by_the_database():
        sql("UPDATE finance_payment SET amount = 1 WHERE id = %s", [closed_payment.pk])


def test_a_missing_trigger_is_put_back_by_installing_again(closed_payment):
    drop_one_trigger()
    # The control: with the trigger gone, the same statement goes through.
    sql("UPDATE finance_payment SET notes = 'unguarded' WHERE id = %s", [closed_payment.pk])
    assert Payment.objects.get(pk=closed_payment.pk).notes == "unguarded"

    guards.install_finance_guards(connection)

    assert installed_triggers() == expected_triggers()
    with refused_by_the_database():
        sql("UPDATE finance_payment SET notes = 'again' WHERE id = %s", [closed_payment.pk])


def test_every_migrate_of_finance_puts_the_triggers_back():
    """SQLite drops triggers when a migration rebuilds a table: post_migrate reinstalls them."""
    drop_one_trigger()

    reinstall_finance_guards(sender=None, app_config=apps.get_app_config("patients"), using="default")
    assert installed_triggers() != expected_triggers()

    reinstall_finance_guards(sender=None, app_config=apps.get_app_config("finance"), using="default")
    assert installed_triggers() == expected_triggers()


@pytest.fixture
def closed_payment():
    payment = PaymentFactory(date=last_month())
    ClosedMonthFactory(month=last_month())
    return payment

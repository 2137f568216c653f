"""Database triggers that keep signed records, their medications and all amendments unchanged.

They stop what the model and queryset checks cannot: raw SQL and any code path written later.
PostgreSQL: plpgsql trigger functions. SQLite: BEFORE triggers with RAISE(ABORT). Both surface in
Django as IntegrityError. Installed by a migration and again after every `migrate` (SQLite drops
triggers when a migration rebuilds a table); `CREATE OR REPLACE` / `IF NOT EXISTS` make that idempotent.
"""

from clinic.triggers import append_only, drop_sqlite_triggers, install_triggers

SIGNED = "signed_record_immutable"
AMENDMENT = "amendment_immutable"

SQLITE = {
    "clinical_record_signed_update": f"""
        CREATE TRIGGER IF NOT EXISTS clinical_record_signed_update BEFORE UPDATE ON clinical_medicalrecord
        WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END""",
    "clinical_record_signed_delete": f"""
        CREATE TRIGGER IF NOT EXISTS clinical_record_signed_delete BEFORE DELETE ON clinical_medicalrecord
        WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END""",
    "clinical_medication_signed_insert": f"""
        CREATE TRIGGER IF NOT EXISTS clinical_medication_signed_insert BEFORE INSERT ON clinical_medication
        WHEN (SELECT status FROM clinical_medicalrecord WHERE id = NEW.record_id) = 'signed'
        BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END""",
    "clinical_medication_signed_update": f"""
        CREATE TRIGGER IF NOT EXISTS clinical_medication_signed_update BEFORE UPDATE ON clinical_medication
        WHEN (SELECT status FROM clinical_medicalrecord WHERE id IN (OLD.record_id, NEW.record_id)
              AND status = 'signed') IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END""",
    "clinical_medication_signed_delete": f"""
        CREATE TRIGGER IF NOT EXISTS clinical_medication_signed_delete BEFORE DELETE ON clinical_medication
        WHEN (SELECT status FROM clinical_medicalrecord WHERE id = OLD.record_id) = 'signed'
        BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END""",
}
_AMENDMENTS_SQLITE, _AMENDMENTS_POSTGRES = append_only("clinical_amendment", AMENDMENT, name="clinical_amendment_guard")
SQLITE.update(_AMENDMENTS_SQLITE)
# Dropped only so a test database can be emptied between transactional tests (see conftest.py).
SQLITE_DELETE_GUARDS = [name for name in SQLITE if name.endswith("_delete")]

POSTGRES = [
    f"""
    CREATE OR REPLACE FUNCTION clinical_record_guard() RETURNS trigger AS $$
    BEGIN
        IF OLD.status = 'signed' THEN
            RAISE EXCEPTION '{SIGNED}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    f"""
    CREATE OR REPLACE FUNCTION clinical_medication_guard() RETURNS trigger AS $$
    BEGIN
        IF (TG_OP <> 'INSERT' AND EXISTS (
                SELECT 1 FROM clinical_medicalrecord WHERE id = OLD.record_id AND status = 'signed'))
           OR (TG_OP <> 'DELETE' AND EXISTS (
                SELECT 1 FROM clinical_medicalrecord WHERE id = NEW.record_id AND status = 'signed')) THEN
            RAISE EXCEPTION '{SIGNED}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS clinical_record_guard ON clinical_medicalrecord",
    """CREATE TRIGGER clinical_record_guard BEFORE UPDATE OR DELETE ON clinical_medicalrecord
       FOR EACH ROW EXECUTE FUNCTION clinical_record_guard()""",
    "DROP TRIGGER IF EXISTS clinical_medication_guard ON clinical_medication",
    """CREATE TRIGGER clinical_medication_guard BEFORE INSERT OR UPDATE OR DELETE ON clinical_medication
       FOR EACH ROW EXECUTE FUNCTION clinical_medication_guard()""",
    *_AMENDMENTS_POSTGRES,
]


def install_clinical_guards(connection):
    install_triggers(connection, needs_table="clinical_amendment", sqlite=SQLITE.values(), postgresql=POSTGRES)


def drop_sqlite_delete_guards(connection):
    drop_sqlite_triggers(connection, SQLITE_DELETE_GUARDS)

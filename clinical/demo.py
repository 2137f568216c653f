"""Demo clinical history for `seed_demo`: signed records for past visits, drafts for visits under
way, and treatment plans with procedures for patients with long-term conditions. Idempotent."""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from scheduling.models import Appointment

from .models import MedicalRecord, Medication, Procedure, TreatmentPlan

# (complaint, findings, diagnosis, ICD-10, medications [(drug, strength, dose, route, frequency, duration)])
VISITS = [
    (
        "Sore throat and fever for three days",
        "Temp 38.2. Inflamed tonsils with exudate, tender cervical nodes.",
        "Acute tonsillitis",
        "J03.9",
        [("Phenoxymethylpenicillin", "500 mg", "1 tablet", "oral", "four times a day", "10 days")],
    ),
    (
        "Headaches, worse in the evening",
        "BP 152/94. Fundi normal. No focal neurology.",
        "Essential hypertension",
        "I10",
        [("Amlodipine", "5 mg", "1 tablet", "oral", "once a day", "28 days")],
    ),
    (
        "Itchy rash on both forearms",
        "Erythematous, excoriated patches on flexor forearms.",
        "Atopic dermatitis",
        "L20.9",
        [("Hydrocortisone cream", "1%", "thin layer", "topical", "twice a day", "7 days")],
    ),
    (
        "Cough and wheeze at night",
        "Scattered expiratory wheeze. SpO2 97%. Peak flow 78% predicted.",
        "Asthma, not well controlled",
        "J45.9",
        [("Salbutamol inhaler", "100 micrograms", "2 puffs", "inhaled", "when needed", "ongoing")],
    ),
    (
        "Low back pain after lifting",
        "Paraspinal tenderness L4-L5. Straight leg raise negative.",
        "Low back pain",
        "M54.5",
        [("Ibuprofen", "400 mg", "1 tablet", "oral", "three times a day", "5 days")],
    ),
    (
        "Annual diabetes review",
        "Weight stable. Feet: sensation intact, pulses present.",
        "Type 2 diabetes mellitus",
        "E11.9",
        [("Metformin", "500 mg", "1 tablet", "oral", "twice a day", "28 days")],
    ),
]
PLANS = [
    (
        "Type 2 diabetes mellitus, HbA1c 64 mmol/mol",
        "Metformin 500 mg twice daily, increase to 1 g after 4 weeks",
        "HbA1c below 53 mmol/mol in 6 months",
        [
            ("HbA1c blood test", "HBA1C", "25.00"),
            ("Diabetic foot check", "FOOT", "40.00"),
            ("Retinal screening", "RETSCR", "60.00"),
        ],
    ),
    (
        "Essential hypertension",
        "Amlodipine 5 mg daily",
        "Clinic BP below 140/90",
        [("Ambulatory BP monitoring", "ABPM", "90.00"), ("Renal function and electrolytes", "U&E", "20.00")],
    ),
]


def _vitals(rnd):
    return {
        "bp_systolic": rnd.randrange(110, 160),
        "bp_diastolic": rnd.randrange(65, 95),
        "pulse": rnd.randrange(58, 96),
        "temperature": Decimal(f"{rnd.uniform(36.2, 37.8):.1f}"),
        "spo2": rnd.randrange(95, 100),
        "weight_kg": Decimal(f"{rnd.uniform(55, 105):.1f}"),
        "height_cm": Decimal(f"{rnd.uniform(152, 192):.1f}"),
    }


@transaction.atomic
def seed_clinical_history(seed, today=None):
    today = today or timezone.localdate()
    made = 0
    visits = (
        Appointment.objects.filter(status__in=[Appointment.Status.COMPLETED, Appointment.Status.IN_PROGRESS])
        .filter(medical_records__isnull=True)
        .select_related("doctor__user", "patient")
    )
    for appointment in visits:
        rnd = random.Random(f"{seed}-record-{appointment.pk}")
        complaint, findings, diagnosis, code, medications = rnd.choice(VISITS)
        record = MedicalRecord.objects.create(
            patient=appointment.patient,
            appointment=appointment,
            author=appointment.doctor.user,
            chief_complaint=complaint,
            examination=findings,
            diagnosis=diagnosis,
            icd10_codes=code,
            plan="Review if not improving; safety-netting advice given.",
            **_vitals(rnd),
        )
        for drug, strength, dose, route, frequency, duration in medications:
            Medication.objects.create(
                record=record,
                drug=drug,
                strength=strength,
                dose=dose,
                route=route,
                frequency=frequency,
                duration=duration,
            )
        if appointment.status == Appointment.Status.COMPLETED:
            record.status = MedicalRecord.Status.SIGNED
            record.signed_at = appointment.completed_at or appointment.end
            record.signed_by = record.author
            record.save()
        made += 1

    plans = 0
    with_conditions = (
        Appointment.objects.filter(status=Appointment.Status.COMPLETED, patient__treatment_plans__isnull=True)
        .filter(patient__conditions__icd10_code__in=["E11.9", "I10"])
        .select_related("doctor", "patient")
        .order_by("pk")
    )
    seen = set()
    for appointment in with_conditions:
        if appointment.patient_id in seen:
            continue
        seen.add(appointment.patient_id)
        rnd = random.Random(f"{seed}-plan-{appointment.patient_id}")
        summary, prescription, goals, procedures = rnd.choice(PLANS)
        start = timezone.localtime(appointment.start).date()
        plan = TreatmentPlan.objects.create(
            patient=appointment.patient,
            doctor=appointment.doctor,
            diagnosis_summary=summary,
            prescription=prescription,
            goals=goals,
            status=TreatmentPlan.Status.ACTIVE,
            start_date=start,
            expected_end_date=start + timedelta(days=180),
            created_by=appointment.doctor.user,
        )
        for index, (name, code, fee) in enumerate(procedures):
            done = index == 0
            Procedure.objects.create(
                patient=plan.patient,
                plan=plan,
                name=name,
                code=code,
                fee=Decimal(fee),
                status=Procedure.Status.DONE if done else Procedure.Status.PLANNED,
                performed_date=min(start, today) if done else None,
                scheduled_date=None if done else today + timedelta(days=14 * index),
                performed_by=appointment.doctor.user if done else None,
                created_by=appointment.doctor.user,
                appointment=appointment if done else None,
            )
        plans += 1
    return made, plans

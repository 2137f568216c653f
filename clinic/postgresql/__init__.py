"""Django's PostgreSQL backend with the clinic's deadlines (ENGINE "clinic.postgresql"; see clinic/dbtimeouts.py)."""

"""Slots on clinical pages that higher apps fill (clinic.contributions; README "How the code is organised").

RECORD_PAGE: what a medical record's page shows from above clinical. Providers are called with
`record` (the MedicalRecord shown) and `user` (who looks at it) and return template context: the
documents app adds `printouts` (the PDFs that can be printed from the record and filed to the
patient's documents; see documents/printouts.py). With no provider the page has no print actions.
"""

from clinic.contributions import Slot

RECORD_PAGE = Slot("a medical record's page: printouts (prescription, visit summary, sick note, referral)")

# The prescription of a signed record as a PDF, for the clinical:prescription address (kept for links made
# before printing moved to the documents app). Providers get `record` and `user` and return None or
# {"response": an HttpResponse with the PDF, "summary": what the audit entry says}.
PRESCRIPTION = Slot("a signed record's prescription as a PDF response")

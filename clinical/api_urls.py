from rest_framework.routers import SimpleRouter

from .api import MedicalRecordViewSet, ProcedureViewSet, TreatmentPlanViewSet

app_name = "clinical_api"

router = SimpleRouter()
router.register("records", MedicalRecordViewSet, basename="record")
router.register("plans", TreatmentPlanViewSet, basename="plan")
router.register("procedures", ProcedureViewSet, basename="procedure")
urlpatterns = router.urls

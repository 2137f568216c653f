from rest_framework.routers import SimpleRouter

from .api import PatientViewSet

app_name = "patients_api"

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="patient")
urlpatterns = router.urls

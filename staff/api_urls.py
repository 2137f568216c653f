from rest_framework.routers import SimpleRouter

from .api import AccountViewSet, DoctorViewSet, SpecialtyViewSet

app_name = "staff_api"

router = SimpleRouter()
router.register("specialties", SpecialtyViewSet, basename="specialty")
router.register("doctors", DoctorViewSet, basename="doctor")
router.register("staff", AccountViewSet, basename="account")
urlpatterns = router.urls

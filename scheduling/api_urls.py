from rest_framework.routers import SimpleRouter

from .api import AppointmentViewSet, FreeSlotViewSet

app_name = "scheduling_api"

router = SimpleRouter()
router.register("slots", FreeSlotViewSet, basename="slot")
router.register("appointments", AppointmentViewSet, basename="appointment")
urlpatterns = router.urls

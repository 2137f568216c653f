from rest_framework.routers import SimpleRouter

app_name = "staff_api"

router = SimpleRouter()
urlpatterns = router.urls

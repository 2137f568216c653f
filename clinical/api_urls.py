from rest_framework.routers import SimpleRouter

app_name = "clinical_api"

router = SimpleRouter()
urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

app_name = "documents_api"

router = SimpleRouter()
urlpatterns = router.urls

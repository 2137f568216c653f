from rest_framework.routers import SimpleRouter

app_name = "finance_api"

router = SimpleRouter()
urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

app_name = "scheduling_api"

router = SimpleRouter()
urlpatterns = router.urls

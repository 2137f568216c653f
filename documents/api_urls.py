from rest_framework.routers import SimpleRouter

from .api import DocumentViewSet, ImageViewSet

app_name = "documents_api"

router = SimpleRouter()
router.register("documents", DocumentViewSet, basename="document")
router.register("images", ImageViewSet, basename="image")
urlpatterns = router.urls

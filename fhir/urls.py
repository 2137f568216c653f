app_name = "fhir"

urlpatterns = []

from django.urls import path

from . import views

app_name = "finance"

urlpatterns = [
    path("due/", views.PaymentsDueView.as_view(), name="due"),
    path("pay/visit/<int:pk>/", views.RecordPaymentView.as_view(), {"kind": "visit"}, name="pay_visit"),
    path("pay/procedure/<int:pk>/", views.RecordPaymentView.as_view(), {"kind": "procedure"}, name="pay_procedure"),
    path("receipts/<int:pk>/", views.ReceiptView.as_view(), name="receipt"),
]

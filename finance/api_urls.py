from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import (
    ExpenseCategoryViewSet,
    ExpenseViewSet,
    MonthDetailView,
    MonthlyReportView,
    OtherIncomeViewSet,
    PaymentViewSet,
)

app_name = "finance_api"

router = SimpleRouter()
router.register("expenses", ExpenseViewSet, basename="expense")
router.register("expense-categories", ExpenseCategoryViewSet, basename="expense-category")
router.register("other-incomes", OtherIncomeViewSet, basename="other-income")
router.register("payments", PaymentViewSet, basename="payment")
urlpatterns = [
    *router.urls,
    path("reports/monthly/<int:year>/", MonthlyReportView.as_view(), name="monthly-report"),
    path("reports/monthly/<int:year>/<int:month>/", MonthDetailView.as_view(), name="month-report"),
]

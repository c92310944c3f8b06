from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import views

app_name = "sales"
urlpatterns = [
    *app_resource_urls("sales"),
    path("pipeline/", views.PipelineView.as_view(), name="pipeline"),
    path("pipeline/move/", views.PipelineMoveView.as_view(), name="pipeline_move"),
    path("forecast/", views.ForecastView.as_view(), name="forecast"),
    path("receivables/", views.ReceivablesView.as_view(), name="receivables"),
    path("fulfilment/", views.FulfilmentView.as_view(), name="fulfilment"),
    path("price-check/", views.PriceCheckView.as_view(), name="price_check"),
    path("catalogue/", views.CatalogueView.as_view(), name="catalogue"),
    path("commissions/run/", views.CommissionRunView.as_view(), name="commission_run"),
    path("dashboard/", views.SalesDashboardView.as_view(), name="dashboard"),
    path("reports/by-month/", views.SalesByMonthView.as_view(), name="by_month"),
    path("targets/", views.TargetsView.as_view(), name="targets"),
    path("quote/<int:pk>/print/<str:fmt>/", views.QuotePrintView.as_view(), name="quote_print"),
    path("quote/<int:pk>/mail/", views.QuoteMailView.as_view(), name="quote_mail"),
    path("accountstatement/<int:pk>/print/<str:fmt>/", views.AccountStatementPrintView.as_view(), name="statement_print"),
]

from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import views

app_name = "inventory"
urlpatterns = [
    *app_resource_urls("inventory"),
    path("stock/", views.StockReportView.as_view(), name="stock"),
    path("value/", views.StockValueView.as_view(), name="value"),
    path("alerts/", views.AlertsView.as_view(), name="alerts"),
    path("slow/", views.SlowMoversView.as_view(), name="slow"),
    path("stocktake/<int:pk>/sheet/", views.CountSheetView.as_view(), name="stocktake_sheet"),
    path("order/<int:pk>/delivery/", views.OrderDeliveryView.as_view(), name="order_delivery"),
]

from django.urls import include, path
from django.views.generic import RedirectView

from qinglan.core import views_shell
from qinglan.extras import views as extras_views
from qinglan.org import views as org_views

urlpatterns = [
    path("", views_shell.HomeView.as_view(), name="home"),
    path("healthz", views_shell.health, name="health"),
    path("search/", views_shell.GlobalSearchView.as_view(), name="global_search"),
    path("changelog/", views_shell.ChangeLogView.as_view(), name="changelog"),
    path("me/", org_views.ProfileView.as_view(), name="profile"),
    path("me/tokens/", org_views.APITokenView.as_view(), name="api_tokens"),
    path("me/tokens/<int:pk>/revoke/", org_views.APITokenRevokeView.as_view(), name="api_token_revoke"),
    path("me/notifications/", extras_views.NotificationListView.as_view(), name="notifications"),
    path("me/notifications/<int:pk>/", extras_views.NotificationOpenView.as_view(), name="notification_open"),
    path("me/filters/", extras_views.SavedFilterAddView.as_view(), name="saved_filter_add"),
    path("me/filters/<int:pk>/delete/", extras_views.SavedFilterDeleteView.as_view(), name="saved_filter_delete"),
    # Members' e-mail addresses are kept by administrators (member form), not self-served.
    path("accounts/email/", RedirectView.as_view(pattern_name="profile")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/search/", include("qinglan.search.urls")),
    path("api/", include("qinglan.core.api.urls")),
    path("org/", include("qinglan.org.urls")),
    path("customers/", include("qinglan.customers.urls")),
    path("extras/", include("qinglan.extras.urls")),
    path("workflow/", include("qinglan.workflow.urls")),
    path("products/", include("qinglan.products.urls")),
    path("sales/", include("qinglan.sales.urls")),
    path("inventory/", include("qinglan.inventory.urls")),
    path("purchasing/", include("qinglan.purchasing.urls")),
]

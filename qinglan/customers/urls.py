from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import duplicate_views, pool_views

app_name = "customers"
urlpatterns = [*app_resource_urls("customers")]
urlpatterns += [
    path("customer/duplicates/", duplicate_views.DuplicateReportView.as_view(), name="customer_duplicates"),
    path("customer/merge-selected/", duplicate_views.MergeSelectedView.as_view(), name="customer_merge_selected"),
    path("customer/<int:pk>/merge/", duplicate_views.MergeView.as_view(), name="customer_merge_pick"),
    path("customer/<int:pk>/merge/<int:other>/", duplicate_views.MergeView.as_view(), name="customer_merge"),
]
urlpatterns += pool_views.urlpatterns

# vCard import and export, the address book
from . import addressbook_views, vcard_views  # noqa: E402

urlpatterns += [
    path("addressbook/", addressbook_views.AddressBookView.as_view(), name="addressbook"),
    path("contact/<int:pk>/vcard/", vcard_views.ContactVCardView.as_view(), name="contact_vcard"),
    path("contact/vcard/", vcard_views.ContactListVCardView.as_view(), name="contact_vcard_list"),
    path("contact/vcard/selected/3/", vcard_views.ContactListVCardView.as_view(version="3.0"), name="contact_vcard_selected_3"),
    path("contact/vcard/selected/4/", vcard_views.ContactListVCardView.as_view(version="4.0"), name="contact_vcard_selected_4"),
    path("contact/vcard/import/", vcard_views.ContactVCardImportView.as_view(), name="contact_vcard_import"),
]

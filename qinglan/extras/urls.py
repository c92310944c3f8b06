from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import views

app_name = "extras"
urlpatterns = [
    *app_resource_urls("extras"),
    path("comments/<int:content_type_id>/<int:object_id>/add/", views.CommentAddView.as_view(), name="comment_add"),
    path("comments/<int:pk>/delete/", views.CommentDeleteView.as_view(), name="comment_delete"),
    path("attachments/<int:content_type_id>/<int:object_id>/add/", views.AttachmentAddView.as_view(), name="attachment_add"),
    path("attachments/<int:pk>/download/", views.AttachmentDownloadView.as_view(), name="attachment_download"),
    path("attachments/<int:pk>/delete/", views.AttachmentDeleteView.as_view(), name="attachment_delete"),
]

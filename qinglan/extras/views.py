from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from qinglan.core.registry import registry
from qinglan.core.views import safe_next

from . import services
from .forms import AttachmentForm, CommentForm
from .models import Attachment, Comment, Notification, SavedFilter


def visible_record(user, content_type_id, object_id, action="view"):
    content_type = get_object_or_404(ContentType, pk=content_type_id)
    model = content_type.model_class()
    if model is None or registry.get(model) is None:
        raise Http404
    return get_object_or_404(model._default_manager.restrict(user, action), pk=object_id)


class CommentAddView(View):
    def post(self, request, content_type_id, object_id):
        record = visible_record(request.user, content_type_id, object_id)
        form = CommentForm(request.POST)
        if form.is_valid():
            services.add_comment(record=record, user=request.user, text=form.cleaned_data["text"])
            messages.success(request, _("Your comment was added."))
        else:
            messages.error(request, " ".join(form.errors.get("text", [_("The comment is empty.")])))
        return redirect(record.get_absolute_url() + "comments/")


class CommentDeleteView(View):
    def post(self, request, pk):
        comment = get_object_or_404(Comment, pk=pk)
        record = visible_record(request.user, comment.content_type_id, comment.object_id)
        try:
            services.delete_comment(comment=comment, user=request.user)
        except PermissionDenied as error:
            messages.error(request, str(error))
        return redirect(record.get_absolute_url() + "comments/")


class AttachmentAddView(View):
    def post(self, request, content_type_id, object_id):
        record = visible_record(request.user, content_type_id, object_id)
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            services.add_attachment(record=record, user=request.user, upload=form.cleaned_data["file"])
            messages.success(request, _("The file was attached."))
        else:
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect(record.get_absolute_url() + "attachments/")


class AttachmentDownloadView(View):
    """Always a download (never rendered inline), with the type sniffing switched off."""

    def get(self, request, pk):
        attachment = get_object_or_404(Attachment, pk=pk)
        visible_record(request.user, attachment.content_type_id, attachment.object_id)
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404(_("The file is missing from storage.")) from exc
        response = FileResponse(handle, as_attachment=True, filename=attachment.name, content_type="application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class AttachmentDeleteView(View):
    def post(self, request, pk):
        attachment = get_object_or_404(Attachment, pk=pk)
        record = visible_record(request.user, attachment.content_type_id, attachment.object_id)
        try:
            services.delete_attachment(attachment=attachment, user=request.user)
            messages.success(request, _("The attachment was deleted."))
        except PermissionDenied as error:
            messages.error(request, str(error))
        return redirect(record.get_absolute_url() + "attachments/")


class NotificationListView(View):
    def get(self, request):
        notifications = Notification.objects.filter(user=request.user)[:200]
        return render(request, "extras/notifications.html", {"notifications": notifications})

    def post(self, request):
        ids = [value for value in request.POST.getlist("id") if value.isdigit()]
        services.mark_read(user=request.user, ids=ids or None)
        return redirect(safe_next(request, "notifications"))


class NotificationOpenView(View):
    """Marks one notification read and follows its link."""

    def get(self, request, pk):
        notification = get_object_or_404(Notification, pk=pk, user=request.user)
        services.mark_read(user=request.user, ids=[notification.pk])
        target = notification.url if notification.url.startswith("/") and not notification.url.startswith("//") else "/"
        return redirect(target)


class SavedFilterAddView(View):
    def post(self, request):
        app_label, _dot, model_name = request.POST.get("resource", "").partition(".")
        resource = registry.get_by_label(app_label, model_name)
        name = request.POST.get("name", "").strip()[:100]
        if resource is None or not name:
            messages.error(request, _("Give the filter a name."))
            return redirect(safe_next(request, "/"))
        SavedFilter.objects.create(
            user=request.user,
            content_type=ContentType.objects.get_for_model(resource.model),
            name=name,
            query=request.POST.get("query", "")[:2000],
            shared=bool(request.POST.get("shared")),
        )
        messages.success(request, _("The filter was saved."))
        return redirect(f"{resource.list_url}?{request.POST.get('query', '')}")


class SavedFilterDeleteView(View):
    def post(self, request, pk):
        saved = get_object_or_404(SavedFilter, pk=pk, user=request.user)
        saved.delete()
        return redirect(safe_next(request, "/"))

from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import designer, views

app_name = "workflow"
urlpatterns = [*app_resource_urls("workflow")]
urlpatterns += [
    path("tasks/", views.InboxView.as_view(), name="inbox"),
    path("tasks/<int:pk>/complete/", views.CompleteTaskView.as_view(), name="task_complete"),
    path("leave/", views.StartLeaveView.as_view(), name="start_leave"),
    path("start/", views.StartProcessView.as_view(), name="start"),
    path("start/<str:key>/", views.StartProcessView.as_view(), name="start_process"),
    path("instance/<int:pk>/files/<str:field>/", views.FormFileView.as_view(), name="form_file"),
    path("instance/<int:pk>/", views.InstanceView.as_view(), name="instance"),
    path("instance/<int:pk>/withdraw/", views.InstanceActionView.as_view(), {"action": "withdraw"}, name="instance_withdraw"),
    path("tasks/<int:pk>/<slug:action>/", views.TaskActionView.as_view(), name="task_action"),
    path("instance/<int:pk>/<slug:action>/", views.InstanceActionView.as_view(), name="instance_action"),
    path("reports/durations/", views.DurationReportView.as_view(), name="report_durations"),
    path("reports/overdue/", views.OverdueReportView.as_view(), name="report_overdue"),
    path("attachments/<int:pk>/", views.EventAttachmentView.as_view(), name="attachment"),
    path("designer/", designer.DesignerView.as_view(), name="designer"),
    path("designer/<int:pk>/", designer.DesignerView.as_view(), name="designer_edit"),
    path("designer/<int:pk>/copy/", designer.DesignerView.as_view(), {"copy": True}, name="designer_copy"),
    path("designer/check/", designer.DesignerCheckView.as_view(), name="designer_check"),
    path("designer/deploy/", designer.DesignerDeployView.as_view(), name="designer_deploy"),
    path("processdefinition/<int:pk>/bpmn/", designer.DefinitionXmlView.as_view(), name="definition_xml"),
]

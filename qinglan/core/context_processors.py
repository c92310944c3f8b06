from django.conf import settings

from .menu import build_menu


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"languages": settings.LANGUAGES}
    from qinglan.extras.models import Notification

    return {
        "menu": build_menu(user),
        "unread_notifications": Notification.objects.filter(user=user, read_at__isnull=True).count(),
        "languages": settings.LANGUAGES,
    }

from django.urls import path

from ecitizen.notifications import views

app_name = "notifications"

# Pages for residents and the public, mounted at the site root.
urlpatterns = [
    path("account/inbox/", views.inbox, name="inbox"),
    path("account/inbox/<int:notification_id>/", views.inbox_message, name="inbox_message"),
]

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns = [
    path("notifications/", views.deliveries, name="notifications"),
    path(
        "notifications/<int:notification_id>/retry/",
        views.delivery_retry,
        name="notification_retry",
    ),
    path("sms-outbox/", views.sms_outbox, name="sms_outbox"),
]

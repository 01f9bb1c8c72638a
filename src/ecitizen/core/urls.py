from django.urls import path

from ecitizen.core import views

app_name = "core"

# The home page, core:home, is added by the root URL map (ecitizen/urls.py): it shows what
# the apps offer, and core imports no app.
urlpatterns = [
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("cookies/", views.cookies, name="cookies"),
    path("contact/", views.contact, name="contact"),
    path("display/", views.display, name="display"),
    path("language/", views.set_language, name="language"),
    path("session/status/", views.session_status, name="session_status"),
    path("session/extend/", views.session_extend, name="session_extend"),
    path("session/ended/", views.session_ended, name="session_ended"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]

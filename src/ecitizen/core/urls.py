from django.urls import path

from ecitizen.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
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
]

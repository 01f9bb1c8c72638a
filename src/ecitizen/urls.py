from django.urls import include, path

from ecitizen.accounts.urls import staff_urlpatterns
from ecitizen.core import views as core_views

staff_patterns = [
    *staff_urlpatterns,
    path("audit/", core_views.audit_log, name="audit"),
]

urlpatterns = [
    path("", include("ecitizen.core.urls")),
    path("account/", include("ecitizen.accounts.urls")),
    path("staff/", include((staff_patterns, "staff"))),
    path("accounts/", include("allauth.urls")),
]

handler400 = "ecitizen.core.views.bad_request"
handler403 = "ecitizen.core.views.permission_denied"
handler404 = "ecitizen.core.views.page_not_found"
handler500 = "ecitizen.core.views.server_error"

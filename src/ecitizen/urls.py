from django.urls import URLPattern, URLResolver, include, path

from ecitizen.accounts.urls import staff_urlpatterns as accounts_staff
from ecitizen.api.ninja_api import urlpatterns as api_v1_urlpatterns
from ecitizen.api.urls import oauth_urlpatterns
from ecitizen.api.urls import staff_urlpatterns as api_staff
from ecitizen.cases.urls import staff_urlpatterns as cases_staff
from ecitizen.cases.views import home
from ecitizen.core import views as core_views
from ecitizen.core.urls import urlpatterns as core_urlpatterns
from ecitizen.documents.urls import staff_urlpatterns as documents_staff
from ecitizen.feedback.urls import staff_urlpatterns as feedback_staff
from ecitizen.insights.urls import staff_urlpatterns as insights_staff
from ecitizen.notifications.urls import staff_urlpatterns as notifications_staff
from ecitizen.opendata.urls import staff_urlpatterns as opendata_staff
from ecitizen.participation.urls import staff_urlpatterns as participation_staff
from ecitizen.payments.urls import staff_urlpatterns as payments_staff
from ecitizen.privacy.erasure_urls import staff_urlpatterns as privacy_erasure_staff
from ecitizen.privacy.urls import staff_urlpatterns as privacy_staff
from ecitizen.reports.staff_urls import staff_urlpatterns as reports_staff
from ecitizen.taxes.urls import staff_urlpatterns as taxes_staff
from ecitizen.voting.urls import staff_urlpatterns as voting_staff

staff_patterns: list[URLPattern | URLResolver] = [
    *accounts_staff,
    *api_staff,
    *cases_staff,
    *documents_staff,
    *feedback_staff,
    *insights_staff,
    *notifications_staff,
    *opendata_staff,
    path("participation/", include(participation_staff)),
    *payments_staff,
    path("privacy/", include(privacy_staff)),
    path("privacy/", include(privacy_erasure_staff)),
    *reports_staff,
    *taxes_staff,
    path("voting/", include(voting_staff)),
    path("audit/", core_views.audit_log, name="audit"),
]

urlpatterns = [
    # The home page keeps its name core:home, but it gathers what the apps offer (search,
    # popular services, what a resident has to do), so it is a view of cases, which may
    # read catalogue and payments; core imports no app.
    path("", include(([path("", home, name="home"), *core_urlpatterns], "core"))),
    # The mounts under a prefix of their own come before the apps mounted at the root: a
    # path is matched against the patterns in order, and each root mount that fails costs
    # a try of every one of its patterns (some 60 us for a staff page behind eight of
    # them). No root mount has a pattern under these prefixes but "account/" (documents,
    # inbox, bills, property tax: tried after the accounts app's, as always) and
    # "privacy/" (core's privacy notice, first of all), so the order changes no match;
    # tests/test_url_access.py checks that each address reaches its own view.
    # OAuth2 for integrators: the resident's connected apps, and the consent, token,
    # revocation and introspection endpoints (under the toolkit's own namespace).
    path("account/apps/", include("ecitizen.api.urls")),
    path("oauth/", include((oauth_urlpatterns, "oauth2_provider"))),
    path("account/", include("ecitizen.accounts.urls")),
    path("services/", include("ecitizen.catalogue.urls")),
    path("feedback/", include("ecitizen.feedback.urls")),
    path("open311/v2/", include("ecitizen.reports.open311.urls")),
    path("participate/", include("ecitizen.participation.urls")),
    path("voting/", include("ecitizen.voting.urls")),
    # Data rights: "Your data", the records of processing, erasure (core keeps /privacy/).
    path("privacy/", include("ecitizen.privacy.urls")),
    path("staff/", include((staff_patterns, "staff"))),
    # Sign-in with OpenID Connect (national eID, staff IdP): our strict views at the
    # addresses of allauth's own, which they shadow (accounts/oidc_urls.py, ADR 0022).
    path("accounts/oidc/", include("ecitizen.accounts.oidc_urls")),
    path("accounts/", include("allauth.urls")),
    # The public REST API, built from the routers the apps register (ecitizen.api).
    path("api/v1/", include((api_v1_urlpatterns(), "api_v1"))),
    path("", include("ecitizen.cases.urls")),
    path("", include("ecitizen.documents.urls")),
    path("", include("ecitizen.notifications.urls")),
    path("", include("ecitizen.payments.urls")),
    path("", include("ecitizen.taxes.urls")),
    path("", include("ecitizen.reports.urls")),
    path("", include("ecitizen.insights.urls")),
    path("", include("ecitizen.opendata.urls")),
]

handler400 = "ecitizen.core.views.bad_request"
handler403 = "ecitizen.core.views.permission_denied"
handler404 = "ecitizen.core.views.page_not_found"
handler500 = "ecitizen.core.views.server_error"

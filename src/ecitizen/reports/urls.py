"""Addresses of street reports for residents and the public (namespace ``reports``,
mounted at the site's root). Fixed paths come before ``reports/<reference>/``. The public
list, report pages and feeds may read the read replica for anonymous visitors
(ecitizen.core.dbrouter); someone who has just reported reads the primary."""

from django.urls import path

from ecitizen.core.dbrouter import replica_view
from ecitizen.reports import alert_views, feeds, views

app_name = "reports"

urlpatterns = [
    path("reports/", replica_view(views.report_list), name="list"),
    # Report a problem, one question per page.
    path("reports/new/", views.start, name="start"),
    path("reports/new/where/", views.where, name="where"),
    path("reports/new/nearby/", views.nearby, name="nearby"),
    path("reports/new/describe/", views.describe, name="describe"),
    path("reports/new/questions/<slug:page_id>/", views.questions, name="questions"),
    path("reports/new/photos/", views.photos, name="photos"),
    path("reports/new/photos/<str:key>/", views.held_photo, name="held_photo"),
    path("reports/new/about-you/", views.about, name="about"),
    path("reports/new/check/", views.check, name="check"),
    path("reports/new/sent/", views.sent, name="sent"),
    path("reports/confirm/<str:token>/", views.confirm, name="confirm"),
    path("reports/mine/", views.mine, name="mine"),
    path("reports/wards.geojson", views.wards, name="wards"),
    path("reports/photos/<uuid:public_id>/", views.photo, name="photo"),
    path("reports/feeds/ward/<str:code>/rss/", replica_view(feeds.ward_rss), name="feed_ward"),
    path(
        "reports/feeds/ward/<str:code>/atom/",
        replica_view(feeds.ward_atom),
        name="feed_ward_atom",
    ),
    path(
        "reports/feeds/problem/<str:code>/rss/",
        replica_view(feeds.category_rss),
        name="feed_category",
    ),
    path(
        "reports/feeds/problem/<str:code>/atom/",
        replica_view(feeds.category_atom),
        name="feed_category_atom",
    ),
    # Email alerts of new reports in a ward or near a place.
    path("reports/alerts/", alert_views.alerts, name="alerts"),
    path("reports/alerts/new/", alert_views.alert_new, name="alert_new"),
    path("reports/alerts/sent/", alert_views.alert_sent, name="alert_sent"),
    path("reports/alerts/confirm/<str:token>/", alert_views.alert_confirm, name="alert_confirm"),
    path(
        "reports/alerts/stop/<str:token>/", alert_views.alert_unsubscribe, name="alert_unsubscribe"
    ),
    path("reports/alerts/<uuid:public_id>/stop/", alert_views.alert_delete, name="alert_delete"),
    path("reports/<str:reference>/", replica_view(views.detail), name="detail"),
    path("reports/<str:reference>/me-too/", views.support, name="support"),
]

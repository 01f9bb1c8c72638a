"""Addresses of street reports for residents and the public (namespace ``reports``,
mounted at the site's root). Fixed paths come before ``reports/<reference>/``."""

from django.urls import path

from ecitizen.reports import feeds, views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_list, name="list"),
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
    path("reports/feeds/ward/<str:code>/rss/", feeds.ward_rss, name="feed_ward"),
    path("reports/feeds/ward/<str:code>/atom/", feeds.ward_atom, name="feed_ward_atom"),
    path("reports/feeds/problem/<str:code>/rss/", feeds.category_rss, name="feed_category"),
    path("reports/feeds/problem/<str:code>/atom/", feeds.category_atom, name="feed_category_atom"),
    path("reports/<str:reference>/", views.detail, name="detail"),
    path("reports/<str:reference>/me-too/", views.support, name="support"),
]

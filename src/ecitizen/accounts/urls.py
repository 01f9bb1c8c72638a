from django.urls import path

from ecitizen.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_home, name="home"),
    path("profile/", views.profile_edit, name="profile_edit"),
    path("data-tracker/", views.data_tracker, name="data_tracker"),
    path("activity/", views.account_activity, name="activity"),
]

staff_urlpatterns = [
    path("", views.staff_home, name="home"),
    path("residents/", views.resident_search, name="residents"),
    path("residents/<int:profile_id>/", views.resident_detail, name="resident_detail"),
    path("people/", views.people, name="people"),
    path("people/roles/<int:assignment_id>/remove/", views.role_revoke, name="role_revoke"),
]

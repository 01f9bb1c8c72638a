from django.urls import path

from ecitizen.cases import views

app_name = "cases"

# Pages for residents (and helpers applying for them), mounted at the site root.
urlpatterns = [
    path("apply/<slug:slug>/", views.apply_start, name="apply_start"),
    path("apply/<slug:slug>/for-someone/", views.assisted_start, name="assisted_start"),
    path(
        "apply/<slug:slug>/for-someone/<uuid:consent_id>/",
        views.assisted_consent,
        name="assisted_consent",
    ),
    path("application/<uuid:draft_id>/", views.draft_resume, name="draft_resume"),
    path(
        "application/<uuid:draft_id>/eligibility/<slug:question_id>/",
        views.eligibility,
        name="eligibility",
    ),
    path(
        "application/<uuid:draft_id>/cannot-apply/<slug:question_id>/",
        views.ineligible,
        name="ineligible",
    ),
    path("application/<uuid:draft_id>/page/<slug:page_id>/", views.question_page, name="page"),
    path("application/<uuid:draft_id>/check/", views.check_answers, name="check"),
    path("application/<uuid:draft_id>/delete/", views.draft_discard, name="draft_discard"),
    path("application/<uuid:draft_id>/files/<int:file_id>/", views.draft_file, name="draft_file"),
    path("applications/", views.applications, name="applications"),
    path("records/", views.records_archive, name="records"),
    path("records/<int:file_id>/", views.record_file, name="record_file"),
    path("applications/<str:reference>/", views.case_detail, name="case_detail"),
    path("applications/<str:reference>/sent/", views.confirmation, name="confirmation"),
    path("applications/<str:reference>/feedback/", views.rate, name="rate"),
    path(
        "applications/<str:reference>/actions/<slug:action_id>/",
        views.case_action,
        name="case_action",
    ),
    path("applications/<str:reference>/files/<int:file_id>/", views.case_file, name="case_file"),
]

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns = [
    path("cases/", views.case_queue, name="case_queue"),
    path("cases/<str:reference>/", views.staff_case_detail, name="case_detail"),
    path(
        "cases/<str:reference>/actions/<slug:action_id>/",
        views.staff_case_action,
        name="case_action",
    ),
    path("cases/<str:reference>/assign/", views.staff_case_assign, name="case_assign"),
    path("cases/<str:reference>/note/", views.staff_case_note, name="case_note"),
    path("cases/<str:reference>/message/", views.staff_case_message, name="case_message"),
    path("cases/<str:reference>/files/<int:file_id>/", views.staff_case_file, name="case_file"),
]

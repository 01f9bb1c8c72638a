from django.urls import path

from ecitizen.feedback import views

app_name = "feedback"

# Pages for residents and visitors, mounted at /feedback/.
urlpatterns = [
    path("", views.start, name="start"),
    path("rate/", views.rate, name="rate"),
    path("check-your-email/", views.check_email, name="check_email"),
    path("thank-you/", views.thanks, name="thanks"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("complaints/<str:token>/", views.complaint, name="complaint"),
    path("you-said-we-did/", views.changes, name="changes"),
    path("you-said-we-did/<slug:slug>/", views.service_changes, name="service_changes"),
    # Last: a kind of feedback (compliment, suggestion, complaint).
    path("<slug:kind>/", views.send, name="send"),
]

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns = [
    path("feedback/", views.staff_satisfaction, name="feedback"),
    path("feedback/comments/", views.staff_comments, name="feedback_comments"),
    path("feedback/complaints/", views.staff_complaints, name="feedback_complaints"),
    path("feedback/services/<slug:slug>/", views.staff_service, name="feedback_service"),
    path(
        "feedback/services/<slug:slug>/changes/",
        views.staff_change_publish,
        name="feedback_change_publish",
    ),
    path(
        "feedback/services/<slug:slug>/changes/withdraw/",
        views.staff_change_withdraw,
        name="feedback_change_withdraw",
    ),
]

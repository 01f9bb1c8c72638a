from django.urls import URLPattern, path

from ecitizen.documents import views

app_name = "documents"

# Pages for residents and the public, mounted at the site root.
urlpatterns: list[URLPattern] = [
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>/", views.verify_document, name="verify_document"),
    path("account/documents/", views.document_list, name="list"),
    path(
        "account/documents/<str:code>/download/",
        views.document_download,
        name="download",
    ),
]

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns: list[URLPattern] = [
    path("documents/<str:code>/", views.staff_document_detail, name="document_detail"),
    path("documents/<str:code>/pdf/", views.staff_document_pdf, name="document_pdf"),
]

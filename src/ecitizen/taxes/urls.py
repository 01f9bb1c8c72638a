from django.urls import path

from ecitizen.taxes import views

app_name = "taxes"

# Pages for residents and the public, mounted at the site root.
urlpatterns = [
    path("account/property-tax/", views.overview, name="overview"),
    path("account/property-tax/<str:parcel>/", views.property_detail, name="property"),
]

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns = [
    path("property-tax/assessments/", views.staff_runs, name="tax_runs"),
    path("property-tax/assessments/<int:run_id>/", views.staff_run, name="tax_run"),
]

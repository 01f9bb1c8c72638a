from django.urls import path

from ecitizen.catalogue import views
from ecitizen.core.dbrouter import replica_view

app_name = "catalogue"

# Read by everyone, written by `ecitizen services load`: anonymous reads may use the
# read replica (ecitizen.core.dbrouter).
urlpatterns = [
    path("", replica_view(views.service_list), name="list"),
    path("search/", replica_view(views.service_search), name="search"),
    path("<slug:slug>/", replica_view(views.service_start), name="start"),
]

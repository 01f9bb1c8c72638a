from django.urls import path

from ecitizen.catalogue import views

app_name = "catalogue"

urlpatterns = [
    path("", views.service_list, name="list"),
    path("search/", views.service_search, name="search"),
    path("<slug:slug>/", views.service_start, name="start"),
]

"""ecitizen's URL map plus ``/bench/bare/``: the floor the page benchmarks compare with."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare), path("", include("ecitizen.urls"))]

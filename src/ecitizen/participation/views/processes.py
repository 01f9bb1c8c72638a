"""Participation pages: processes (being built; these two pages hold the navigation's
addresses until the area's pages replace them)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.participation.services import PARTICIPATION_ORGANISE


@public
def processes(request: HttpRequest) -> HttpResponse:
    return render(request, "participation/placeholder.html")


@signed_in
def mine(request: HttpRequest) -> HttpResponse:
    return render(request, "participation/placeholder.html")


@staff_only(PARTICIPATION_ORGANISE)
def staff_home(request: HttpRequest) -> HttpResponse:
    return render(request, "participation/placeholder.html")


urls: list[URLPattern] = [
    path("", processes, name="processes"),
    path("yours/", mine, name="mine"),
]
staff_urls: list[URLPattern] = [path("", staff_home, name="participation")]

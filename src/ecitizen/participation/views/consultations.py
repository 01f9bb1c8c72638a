"""Participation pages: consultations (being built)."""

from django.urls import URLPattern

urls: list[URLPattern] = []
staff_urls: list[URLPattern] = []

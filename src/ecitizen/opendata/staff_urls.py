"""Filled in by the module that owns it."""

staff_urlpatterns: list = []

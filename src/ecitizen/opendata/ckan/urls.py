"""Filled in by the module that owns it."""

urlpatterns: list = []

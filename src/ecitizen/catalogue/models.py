"""Services and their published, immutable definition versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ecitizen.accounts.models import Department
from ecitizen.core.fields import WriteOnceJSONField


class Service(models.Model):
    """A public service. What it asks and how it is processed live in its versions; a
    case keeps the version it was started under."""

    slug = models.SlugField(max_length=63, unique=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="services")
    current_version = models.ForeignKey(
        "ServiceVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: The current version's ``listed``: in the catalogue and its apply journey, or used
    #: only through an app's own journey (a street-report category).
    listed = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ServiceVersion(models.Model):
    """One published definition of a service. Never changed once written: a change to the
    file publishes a new version."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    definition = WriteOnceJSONField()
    checksum = models.CharField(max_length=64)
    source_file = models.CharField(max_length=255)
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["service", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="service_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service.slug} v{self.number}"


class ServiceSearchEntry(models.Model):
    """What search looks through for one service in one language: title, summary and
    synonyms of its current version. Rewritten whenever a version is published.

    On SQLite an FTS5 table (``catalogue_search_fts``, created by migration 0002) mirrors
    these rows; on PostgreSQL full-text search runs over this table directly.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="search_entries")
    language = models.CharField(max_length=8)
    title = models.TextField()
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "language"], name="search_entry_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} ({self.language})"

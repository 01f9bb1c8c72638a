"""Open data: datasets, their resources (distributions), their public history, and the
API tokens of publishers.

Vocabulary follows CKAN (``name``, ``organization``, ``resources``, ``tags``) where the
Action API shows it, and DCAT-AP (themes, frequency, spatial and temporal coverage) where
harvesters read it. A department is an organisation. Nothing here is personal: a dataset
names its department's contact point, never the publisher who typed it (the audit trail
does). Written only by ``ecitizen.opendata.services``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Department, Jurisdiction


class Dataset(models.Model):
    """A dataset: the unit of the catalogue (a CKAN package, a DCAT ``dcat:Dataset``)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    #: The URL name (CKAN ``name``): lower-case letters, digits, ``-`` and ``_``.
    name = models.SlugField(max_length=100, unique=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    #: Title and description per site language ({"en": "...", "fr": "..."}); the
    #: default language's text is required.
    titles = models.JSONField(default=dict)
    descriptions = models.JSONField(default=dict, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    #: A licence id of ``opendata.vocabularies.LICENCES``.
    licence_id = models.CharField(max_length=50)
    #: Codes of the EU data-theme vocabulary (``opendata.vocabularies.THEMES``).
    themes = models.JSONField(default=list, blank=True)
    #: Free keywords (CKAN tags), lower case.
    keywords = models.JSONField(default=list, blank=True)
    #: Spatial coverage: a ward, or the whole authority when empty.
    ward = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    temporal_start = models.DateField(null=True, blank=True)
    temporal_end = models.DateField(null=True, blank=True)
    #: A code of the EU frequency vocabulary (``opendata.vocabularies.FREQUENCIES``).
    frequency = models.CharField(max_length=20, blank=True)
    #: The publisher's own version label ("2026-Q3", "1.2"); ``revision`` counts changes.
    version = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    #: Private datasets are seen only by their department, even once published.
    private = models.BooleanField(default=False)
    withdrawn_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    #: First publication (DCAT ``dct:issued``); the last change (``dct:modified``, CKAN
    #: ``metadata_modified``).
    issued = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    modified = models.DateTimeField(default=timezone.now)
    #: The number of the latest revision (``DatasetRevision.number``).
    revision = models.PositiveIntegerField(default=0)
    #: Datasets the platform writes itself ("platform:services-monthly") and the demo's:
    #: the key that finds them again, so that refreshes and demo loads are idempotent.
    source_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    #: Written by the services on every change, for search (``services.index_values``):
    #: every word of the name, titles, descriptions, keywords and file names, in every
    #: language, lower case, between spaces; and the default language's title to sort by
    #: (CKAN ``title_string``). PostgreSQL searches it through a full-text index.
    search_text = models.TextField(blank=True, editable=False)
    sort_title = models.CharField(max_length=200, blank=True, editable=False)
    #: The dataset's facet values as "field:value" (the same as its ``DatasetTerm`` rows):
    #: facets are counted from these in one pass over the matching datasets.
    facet_terms = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["state", "private", "-modified"], name="opendata_ds_public"),
            models.Index(fields=["department", "state"], name="opendata_ds_department"),
        ]

    def __str__(self) -> str:
        return self.name

    def title(self, language: str | None = None) -> str:
        """The title in ``language`` (the active one by default), else the default's."""
        from ecitizen.catalogue.spec import localised

        return localised(self.titles, language) or self.name

    def description(self, language: str | None = None) -> str:
        from ecitizen.catalogue.spec import localised

        return localised(self.descriptions, language)

    @property
    def is_public(self) -> bool:
        """Anyone may read it: published (or withdrawn, which stays readable with its
        reason) and not private."""
        return self.state != self.State.DRAFT and not self.private


#: The folder of the media storage that holds resources' files (public data, not
#: encrypted): ``<folder><resource id>/<first 12 hex digits of the SHA-256>/<file name>``.
RESOURCE_FILES_FOLDER = "opendata/resources/"


class Resource(models.Model):
    """A file of a dataset (a CKAN resource, a DCAT ``dcat:Distribution``)."""

    class DatastoreState(models.TextChoices):
        NONE = "none", _("Not tabular")
        PENDING = "pending", _("Waiting to load")
        LOADING = "loading", _("Loading")
        LOADED = "loaded", _("Loaded")
        FAILED = "failed", _("Failed to load")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="resources")
    position = models.PositiveIntegerField(default=0)
    names = models.JSONField(default=dict)
    descriptions = models.JSONField(default=dict, blank=True)
    #: CKAN's format label ("CSV", "XLSX", "JSON", "Parquet", "GeoJSON", "PDF").
    format = models.CharField(max_length=20)
    media_type = models.CharField(max_length=100)
    #: The uploaded file in the default storage (public data, not encrypted); empty for
    #: a resource that only links to ``url`` elsewhere, and for a DataStore-only table.
    file = models.FileField(upload_to=RESOURCE_FILES_FOLDER, max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    #: SHA-256 of the file, hex (DCAT ``spdx:checksum``).
    checksum = models.CharField(max_length=64, blank=True)
    #: The Frictionless Table Schema of a tabular resource.
    schema = models.JSONField(null=True, blank=True)
    #: The last validation: {"valid": bool, "rows": n, "errors": [{"row", "column",
    #: "field", "type", "message"}], "checked": iso time}.
    validation = models.JSONField(null=True, blank=True)
    datastore_state = models.CharField(
        max_length=10, choices=DatastoreState.choices, default=DatastoreState.NONE
    )
    datastore_rows = models.BigIntegerField(default=0)
    #: Rows loaded so far while ``loading`` (progress); the total once loaded.
    datastore_progress = models.BigIntegerField(default=0)
    datastore_error = models.TextField(blank=True)
    #: The store's current table file for this resource (a name under DATASTORE_DIR).
    datastore_table = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)
    modified = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dataset", "position", "created"]

    def __str__(self) -> str:
        return self.name()

    def name(self, language: str | None = None) -> str:
        from ecitizen.catalogue.spec import localised

        return localised(self.names, language) or self.format

    def description(self, language: str | None = None) -> str:
        from ecitizen.catalogue.spec import localised

        return localised(self.descriptions, language)

    @property
    def is_tabular(self) -> bool:
        return self.schema is not None


class DatasetTerm(models.Model):
    """One facet value of a dataset (``organization``, ``groups``, ``tags``,
    ``res_format``, ``license_id``), rewritten by the services on every change: search
    filters and counts facets with an index instead of reading every dataset's lists."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="terms")
    field = models.CharField(max_length=20)
    value = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "field", "value"], name="opendata_term_unique"
            )
        ]
        indexes = [models.Index(fields=["field", "value"], name="opendata_term_lookup")]

    def __str__(self) -> str:
        return f"{self.field}:{self.value}"


class DatasetRevision(models.Model):
    """One change of a dataset, kept for ever: its public history.

    ``snapshot`` is the dataset as the CKAN API showed it right after the change, so that
    any version can be shown again; ``summary`` says what changed, in the default
    language (written once, read by everyone, like the audit trail).
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    #: The publisher, kept for the department's own view; never shown publicly.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=300)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="opendata_revision_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} r{self.number}"


class ApiToken(models.Model):
    """A publisher's CKAN API token: shown once, stored as its SHA-256, revocable.

    Clients send it as CKAN's do, in the ``Authorization`` header (bare, or after
    ``Bearer``). It acts with its owner's publisher rights at the time of use.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="opendata_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    #: The first characters of the token, to tell tokens apart in the list.
    prefix = models.CharField(max_length=12)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

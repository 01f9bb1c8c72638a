"""The catalogue as DCAT-AP 3 (https://semiceu.github.io/DCAT-AP/releases/3.0.1/): an
``rdflib`` graph of the catalogue (one page of it) or of one dataset.

Every node a property points at is typed with the class DCAT-AP's SHACL shapes expect of
it (a theme is a ``skos:Concept`` with a label, in the EU data-theme ``skos:ConceptScheme``;
a licence a ``dct:LicenseDocument``; a format a ``dct:MediaTypeOrExtent``...), so that the
output validates against the official shapes with no inference (see
``tests/test_dcat.py``).

URIs, absolute for the request's host (``base_url``):

- the catalogue: ``{base}/catalog`` (it answers with the catalogue in the format asked for);
- a dataset: ``{base}/dataset/<id>/`` (its id, which never changes, not its name); its
  landing page is ``{base}/dataset/<name>/``;
- a distribution: ``{base}/dataset/<id>/resource/<resource id>/``;
- a publisher: the department's organisation page, ``{base}/organization/<slug>/``; the
  catalogue's publisher is the authority, ``{base}/``;
- nodes with no page of their own (contact points, periods, checksums, places) are hash
  URIs of their dataset, distribution or catalogue, never blank nodes: the three
  serialisations then give the very same graph, and harvesters can merge pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext_lazy
from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.opendata.models import Dataset, Resource
from ecitizen.opendata.packages import resource_download_path
from ecitizen.opendata.vocabularies import (
    EU_FILE_TYPE,
    EU_FREQUENCY,
    EU_THEME,
    FORMATS,
    IANA_MEDIA_TYPE,
    LICENCES,
    THEMES,
)

ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")

#: The EU data-theme authority table, the concept scheme of ``dcat:theme``.
THEME_SCHEME = URIRef(EU_THEME.rstrip("/"))
#: The EU language authority table: ISO 639-1 codes of the site's languages -> its codes.
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
LANGUAGE_CODES = {
    "ar": "ARA", "bg": "BUL", "ca": "CAT", "cs": "CES", "cy": "CYM", "da": "DAN",
    "de": "DEU", "el": "ELL", "en": "ENG", "es": "SPA", "et": "EST", "eu": "EUS",
    "fi": "FIN", "fr": "FRA", "ga": "GLE", "hr": "HRV", "hu": "HUN", "it": "ITA",
    "lt": "LIT", "lv": "LAV", "mt": "MLT", "nl": "NLD", "pl": "POL", "pt": "POR",
    "ro": "RON", "sk": "SLK", "sl": "SLV", "sv": "SWE", "tr": "TUR", "uk": "UKR",
    "zh": "ZHO",
}  # fmt: skip
#: ADMS publisher types: a department of a local authority.
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")
#: ADMS licence types of the licences of ``vocabularies.LICENCES`` (DCAT-AP recommends
#: a licence's ``dct:type``).
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
LICENCE_TYPES = {
    "OGL-UK-3.0": ("Attribution",),
    "CC-BY-4.0": ("Attribution",),
    "CC-BY-SA-4.0": ("Attribution", "ShareAlike"),
    "CC0-1.0": ("PublicDomain",),
    "ODC-BY-1.0": ("Attribution",),
    "ODbL-1.0": ("Attribution", "ShareAlike"),
    "etalab-2.0": ("Attribution",),
}
LICENCE_TYPE_LABELS = {
    "Attribution": "Attribution",
    "ShareAlike": "Share-alike",
    "PublicDomain": "Public domain",
}
#: Files stay available: nothing is deleted, a replaced file stays for earlier versions.
STABLE = URIRef("http://publications.europa.eu/resource/authority/planned-availability/STABLE")
#: What the CKAN Action API conforms to.
CKAN_API_DOCS = URIRef("https://docs.ckan.org/en/latest/api/")

PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "skos": SKOS,
    "vcard": VCARD,
    "owl": OWL,
    "xsd": XSD,
    "rdfs": RDFS,
    "adms": ADMS,
    "spdx": SPDX,
    "hydra": HYDRA,
    "dcatap": DCATAP,
}


def _languages() -> list[str]:
    return [code for code, _label in settings.LANGUAGES]


def _in_each_language(
    message: Any, params: Callable[[str], Mapping[str, str]] | None = None
) -> dict[str, str]:
    """A translatable (lazy) message in the site's default language and in each other
    language it is translated into (an untranslated message is not tagged as French or
    Arabic); ``params(language)`` fills its placeholders."""
    default = settings.LANGUAGE_CODE
    with translation.override(default):
        source = str(message)
    texts = {}
    for language in _languages():
        with translation.override(language):
            text = str(message)
        if language != default and text == source:
            continue
        texts[language] = text % params(language) if params else text
    return texts


def _authority(language: str) -> dict[str, str]:
    return {"authority": settings.AUTHORITY_NAMES.get(language) or settings.AUTHORITY_NAME}


CATALOGUE_TITLE = gettext_lazy("%(authority)s open data")
CATALOGUE_DESCRIPTION = gettext_lazy(
    "The datasets %(authority)s publishes: their descriptions, licences and files."
)
API_TITLE = gettext_lazy("CKAN Action API")
API_DESCRIPTION = gettext_lazy(
    "Search the catalogue, read datasets and query tabular data with CKAN's Action API "
    "(package_search, package_show, datastore_search)."
)


def _names(default: str, others: Mapping[str, str] | None) -> dict[str, str]:
    return {settings.LANGUAGE_CODE: default, **{k: v for k, v in (others or {}).items() if v}}


#: Characters XML 1.0 cannot carry (RDF/XML would not parse): C0 controls but tab and
#: newlines.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str, lang: str | None = None) -> Literal:
    """A text literal every serialisation can carry."""
    return Literal(_NOT_IN_XML.sub("", value).strip(), lang=lang)


def _datetime(value: datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def _date(value: date) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.date)


@dataclass(frozen=True)
class Paging:
    """One page of the catalogue, described with Hydra as ckanext-dcat does
    (``hydra:PagedCollection``, with both the old ``nextPage``... and the current
    ``next``... members, the page addresses as literals)."""

    page: int
    per_page: int
    total: int
    #: The address of a page of the catalogue in the format being served.
    page_url: Callable[[int], str]

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.per_page))


class DcatGraph:
    """Builds the DCAT-AP graph of the catalogue or of a dataset for ``base_url``
    ("https://data.example.org")."""

    def __init__(self, *, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.graph = Graph()
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self._described: set[URIRef] = set()

    # --- helpers ---------------------------------------------------------------------

    def url(self, path: str) -> URIRef:
        """An absolute URI for a site path or an absolute URL (made a valid IRI)."""
        if path.startswith("/"):
            path = self.base + path
        return URIRef(iri_to_uri(path))

    def add(self, subject: Any, predicate: Any, value: Any) -> None:
        self.graph.add((subject, predicate, value))

    def texts(self, subject: URIRef, predicate: URIRef, texts: Mapping[str, str]) -> None:
        """One language-tagged literal per language with a text."""
        for language, text in texts.items():
            literal = _text(str(text or ""), language)
            if str(literal):
                self.add(subject, predicate, literal)

    def _once(self, node: URIRef) -> bool:
        """Whether ``node`` is described for the first time (shared nodes are described
        once per graph)."""
        if node in self._described:
            return False
        self._described.add(node)
        return True

    # --- shared nodes ----------------------------------------------------------------

    @property
    def catalog_uri(self) -> URIRef:
        return self.url(reverse("opendata:dcat_catalog_root"))

    @property
    def authority_uri(self) -> URIRef:
        return self.url("/")

    @property
    def service_uri(self) -> URIRef:
        return URIRef(f"{self.catalog_uri}#ckan-api")

    def authority(self) -> URIRef:
        node = self.authority_uri
        if self._once(node):
            self.add(node, RDF.type, FOAF.Agent)
            self.texts(node, FOAF.name, settings.AUTHORITY_NAMES)
            self._publisher_type(node)
        return node

    def _publisher_type(self, node: URIRef) -> None:
        self.add(node, DCTERMS.type, LOCAL_AUTHORITY)
        if self._once(LOCAL_AUTHORITY):
            self.add(LOCAL_AUTHORITY, RDF.type, SKOS.Concept)
            self.add(LOCAL_AUTHORITY, SKOS.prefLabel, Literal("Local Authority", lang="en"))
            self.add(
                LOCAL_AUTHORITY,
                SKOS.inScheme,
                URIRef("http://purl.org/adms/publishertype/1.0"),
            )

    def department(self, department: Department) -> URIRef:
        node = self.url(reverse("opendata:organization", kwargs={"slug": department.slug}))
        if self._once(node):
            self.add(node, RDF.type, FOAF.Agent)
            self.texts(node, FOAF.name, _names(department.name, department.names))
            self._publisher_type(node)
            if department.email:
                self.add(node, FOAF.mbox, URIRef(f"mailto:{department.email}"))
        return node

    def theme(self, code: str) -> URIRef:
        node = URIRef(EU_THEME + code)
        if self._once(node):
            self.add(node, RDF.type, SKOS.Concept)
            self.add(node, SKOS.inScheme, self.theme_scheme())
            self.add(node, SKOS.notation, Literal(code))
            if code in THEMES:
                self.texts(node, SKOS.prefLabel, _in_each_language(THEMES[code]))
        return node

    def theme_scheme(self) -> URIRef:
        node = THEME_SCHEME
        if self._once(node):
            self.add(node, RDF.type, SKOS.ConceptScheme)
            self.texts(node, DCTERMS.title, {"en": "Data theme"})
        return node

    def licence(self, licence_id: str) -> URIRef | None:
        licence = LICENCES.get(licence_id)
        if licence is None:
            return None
        node = self.url(licence.url)
        if self._once(node):
            self.add(node, RDF.type, DCTERMS.LicenseDocument)
            self.add(node, RDFS.label, Literal(licence.title, lang="en"))
            self.add(node, DCTERMS.identifier, Literal(licence.id))
            for code in LICENCE_TYPES.get(licence.id, ()):
                kind = URIRef(LICENCE_TYPE + code)
                self.add(node, DCTERMS.type, kind)
                if self._once(kind):
                    self.add(kind, RDF.type, SKOS.Concept)
                    self.add(kind, SKOS.prefLabel, Literal(LICENCE_TYPE_LABELS[code], lang="en"))
                    self.add(kind, SKOS.inScheme, URIRef(LICENCE_TYPE + "1.0"))
        return node

    def location(self, ward: Jurisdiction | None) -> URIRef:
        """The place a dataset covers: a ward, or the authority's whole area."""
        if ward is None:
            node = URIRef(f"{self.catalog_uri}#area")
            names = settings.AUTHORITY_NAMES
        else:
            node = URIRef(f"{self.catalog_uri}#{ward.kind}-{ward.code}")
            names = _names(ward.name, ward.names)
        if self._once(node):
            self.add(node, RDF.type, DCTERMS.Location)
            self.texts(node, SKOS.prefLabel, names)
            if ward is not None:
                self.add(node, DCTERMS.identifier, Literal(ward.code))
                self.add(node, DCTERMS.isPartOf, self.location(None))
        return node

    def document(self, url: URIRef) -> URIRef:
        if self._once(url):
            self.add(url, RDF.type, FOAF.Document)
        return url

    def service(self) -> URIRef:
        """The CKAN Action API as a ``dcat:DataService``."""
        node = self.service_uri
        if self._once(node):
            self.add(node, RDF.type, DCAT.DataService)
            self.texts(node, DCTERMS.title, _in_each_language(API_TITLE))
            self.texts(node, DCTERMS.description, _in_each_language(API_DESCRIPTION))
            # DCAT-AP's shapes check these are resources (rdfs:Resource) with no inference.
            for predicate, path in (
                (DCAT.endpointURL, "/api/3/action/"),
                (DCAT.endpointDescription, "/api/3/action/help_show"),
            ):
                self.add(node, predicate, self.url(path))
                self.add(self.url(path), RDF.type, RDFS.Resource)
            self.add(node, DCTERMS.conformsTo, CKAN_API_DOCS)
            if self._once(CKAN_API_DOCS):
                self.add(CKAN_API_DOCS, RDF.type, DCTERMS.Standard)
                self.add(CKAN_API_DOCS, DCTERMS.title, Literal("CKAN API", lang="en"))
            self.add(node, DCTERMS.publisher, self.authority())
            self.add(node, DCAT.landingPage, self.document(self.url(reverse("opendata:search"))))
            self.add(node, DCAT.contactPoint, self.authority_contact())
            self.add(node, DCAT.theme, self.theme("GOVE"))
            for keyword in ("ckan", "api", "open data"):
                self.add(node, DCAT.keyword, _text(keyword))
        return node

    def authority_contact(self) -> URIRef:
        node = URIRef(f"{self.catalog_uri}#contact")
        if self._once(node):
            self.add(node, RDF.type, VCARD.Kind)
            self.texts(node, VCARD.fn, settings.AUTHORITY_NAMES)
            email = getattr(settings, "AUTHORITY_CONTACT_EMAIL", "")
            if email:
                self.add(node, VCARD.hasEmail, URIRef(f"mailto:{email}"))
        return node

    # --- datasets --------------------------------------------------------------------

    def dataset_uri(self, dataset: Dataset) -> URIRef:
        return self.url(reverse("opendata:dataset", kwargs={"name": str(dataset.pk)}))

    def dataset(self, dataset: Dataset, *, version_notes: str = "") -> URIRef:
        """Add ``dataset`` (with its department, ward and resources loaded) and its
        distributions; return its URI."""
        node = self.dataset_uri(dataset)
        self.add(node, RDF.type, DCAT.Dataset)
        self.texts(node, DCTERMS.title, dataset.titles or {settings.LANGUAGE_CODE: dataset.name})
        # DCAT-AP requires a description: the title stands in for a dataset without one.
        self.texts(node, DCTERMS.description, dataset.descriptions or dataset.titles)
        self.add(node, DCTERMS.identifier, Literal(str(dataset.pk)))
        self.add(
            node,
            DCAT.landingPage,
            self.document(self.url(reverse("opendata:dataset", kwargs={"name": dataset.name}))),
        )
        self.add(node, DCTERMS.publisher, self.department(dataset.department))
        self._contact(node, dataset)
        for code in dataset.themes:
            self.add(node, DCAT.theme, self.theme(code))
        for keyword in dataset.keywords:
            self.add(node, DCAT.keyword, _text(keyword))
        self.add(node, DCTERMS.spatial, self.location(dataset.ward))
        self._period(node, dataset)
        if dataset.frequency:
            frequency = URIRef(EU_FREQUENCY + dataset.frequency)
            self.add(node, DCTERMS.accrualPeriodicity, frequency)
            if self._once(frequency):
                self.add(frequency, RDF.type, DCTERMS.Frequency)
        if dataset.issued:
            self.add(node, DCTERMS.issued, _datetime(dataset.issued))
        self.add(node, DCTERMS.modified, _datetime(dataset.modified))
        self.add(node, OWL.versionInfo, _text(dataset.version or str(dataset.revision)))
        if version_notes:
            self.add(node, ADMS.versionNotes, _text(version_notes, settings.LANGUAGE_CODE))
        for resource in dataset.resources.all():
            self.add(node, DCAT.distribution, self.distribution(dataset, resource))
        return node

    def _contact(self, node: URIRef, dataset: Dataset) -> None:
        name = dataset.contact_name
        if not (name or dataset.contact_email):
            return
        contact = URIRef(f"{node}#contact")
        self.add(node, DCAT.contactPoint, contact)
        self.add(contact, RDF.type, VCARD.Kind)
        if name:
            self.add(contact, VCARD.fn, _text(name))
        else:
            self.texts(contact, VCARD.fn, _names(dataset.department.name, dataset.department.names))
        if dataset.contact_email:
            self.add(contact, VCARD.hasEmail, URIRef(f"mailto:{dataset.contact_email}"))

    def _period(self, node: URIRef, dataset: Dataset) -> None:
        if not (dataset.temporal_start or dataset.temporal_end):
            return
        period = URIRef(f"{node}#period")
        self.add(node, DCTERMS.temporal, period)
        self.add(period, RDF.type, DCTERMS.PeriodOfTime)
        if dataset.temporal_start:
            self.add(period, DCAT.startDate, _date(dataset.temporal_start))
        if dataset.temporal_end:
            self.add(period, DCAT.endDate, _date(dataset.temporal_end))

    def distribution(self, dataset: Dataset, resource: Resource) -> URIRef:
        node = self.url(
            reverse(
                "opendata:resource",
                kwargs={"name": str(dataset.pk), "resource_id": resource.pk},
            )
        )
        self.add(node, RDF.type, DCAT.Distribution)
        self.texts(node, DCTERMS.title, resource.names or {settings.LANGUAGE_CODE: resource.format})
        self.texts(node, DCTERMS.description, resource.descriptions)
        self.add(node, DCTERMS.identifier, Literal(str(resource.pk)))
        self.add(
            node,
            DCAT.accessURL,
            self.url(
                reverse(
                    "opendata:resource",
                    kwargs={"name": dataset.name, "resource_id": resource.pk},
                )
            ),
        )
        # The file itself: ours (uploaded), or where a link-only resource points.
        resource.dataset = dataset  # resource_download_path reads the dataset's name
        self.add(node, DCAT.downloadURL, self.url(resource_download_path(resource)))
        fmt = FORMATS.get(resource.format)
        if fmt is not None:
            file_type = URIRef(EU_FILE_TYPE + fmt.eu_code)
            self.add(node, DCTERMS.format, file_type)
            if self._once(file_type):
                self.add(file_type, RDF.type, DCTERMS.MediaTypeOrExtent)
        if resource.media_type:
            media_type = self.url(IANA_MEDIA_TYPE + resource.media_type.split(";")[0].strip())
            self.add(node, DCAT.mediaType, media_type)
            if self._once(media_type):
                self.add(media_type, RDF.type, DCTERMS.MediaType)
        if resource.size is not None:
            self.add(node, DCAT.byteSize, Literal(resource.size, datatype=XSD.nonNegativeInteger))
        if resource.checksum:
            checksum = URIRef(f"{node}#checksum")
            self.add(node, SPDX.checksum, checksum)
            self.add(checksum, RDF.type, SPDX.Checksum)
            self.add(checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256)
            self.add(
                checksum, SPDX.checksumValue, Literal(resource.checksum, datatype=XSD.hexBinary)
            )
            if self._once(SPDX.checksumAlgorithm_sha256):
                self.add(SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm)
        licence = self.licence(dataset.licence_id)
        if licence is not None:
            self.add(node, DCTERMS.license, licence)
        if resource.schema is not None:
            schema = self.url(
                reverse(
                    "opendata:resource_schema",
                    kwargs={"name": dataset.name, "resource_id": resource.pk},
                )
            )
            self.add(node, DCTERMS.conformsTo, schema)
            self.add(schema, RDF.type, DCTERMS.Standard)
            self.add(schema, DCTERMS.title, Literal("Table Schema", lang="en"))
            self.add(schema, DCTERMS.type, Literal("Frictionless Table Schema"))
        if resource.datastore_state == Resource.DatastoreState.LOADED:
            # The table can also be queried through the API (datastore_search).
            self.add(node, DCAT.accessService, self.service())
        self.add(node, DCATAP.availability, STABLE)
        if self._once(STABLE):
            self.add(STABLE, RDF.type, SKOS.Concept)
            self.add(STABLE, SKOS.prefLabel, Literal("stable", lang="en"))
            self.add(
                STABLE,
                SKOS.inScheme,
                URIRef("http://publications.europa.eu/resource/authority/planned-availability"),
            )
        self.add(node, DCTERMS.modified, _datetime(resource.modified))
        return node

    # --- the catalogue ---------------------------------------------------------------

    def catalog(
        self,
        datasets: Iterable[Dataset],
        *,
        issued: datetime | None,
        modified: datetime | None,
        version_notes: Mapping[Any, str],
    ) -> URIRef:
        node = self.catalog_uri
        self.add(node, RDF.type, DCAT.Catalog)
        self.texts(node, DCTERMS.title, _in_each_language(CATALOGUE_TITLE, _authority))
        self.texts(node, DCTERMS.description, _in_each_language(CATALOGUE_DESCRIPTION, _authority))
        self.add(node, DCTERMS.publisher, self.authority())
        for language in _languages():
            code = LANGUAGE_CODES.get(language.split("-")[0])
            if code:
                language_node = URIRef(EU_LANGUAGE + code)
                self.add(node, DCTERMS.language, language_node)
                self.add(language_node, RDF.type, DCTERMS.LinguisticSystem)
        licence = self.licence(getattr(settings, "OPENDATA_CATALOGUE_LICENCE", "CC0-1.0"))
        if licence is not None:
            self.add(node, DCTERMS.license, licence)
        self.add(node, FOAF.homepage, self.document(self.url(reverse("opendata:search"))))
        self.add(node, DCAT.themeTaxonomy, self.theme_scheme())
        self.add(node, DCTERMS.spatial, self.location(None))
        self.add(node, DCAT.service, self.service())
        if issued is not None:
            self.add(node, DCTERMS.issued, _datetime(issued))
        if modified is not None:
            self.add(node, DCTERMS.modified, _datetime(modified))
        for dataset in datasets:
            self.add(
                node,
                DCAT.dataset,
                self.dataset(dataset, version_notes=version_notes.get(dataset.pk, "")),
            )
        return node

    def paging(self, paging: Paging) -> URIRef:
        """Hydra paging, as ckanext-dcat writes it (and its harvester reads it)."""
        node = URIRef(paging.page_url(paging.page))
        self.add(node, RDF.type, HYDRA.PagedCollection)
        self.add(node, RDF.type, HYDRA.PartialCollectionView)
        links = {
            "first": 1,
            "last": paging.last,
            "next": paging.page + 1 if paging.page < paging.last else None,
            "previous": paging.page - 1 if paging.page > 1 else None,
        }
        for key, number in links.items():
            if number is None:
                continue
            address = Literal(paging.page_url(number))
            self.add(node, HYDRA[f"{key}Page"], address)
            self.add(node, HYDRA[key], address)
        self.add(node, HYDRA.totalItems, Literal(paging.total))
        self.add(node, HYDRA.itemsPerPage, Literal(paging.per_page))
        return node


#: Serialisations: URL suffix -> (rdflib format, media type).
FORMATS_RDF = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
}


def serialise(graph: Graph, fmt: str) -> bytes:
    """``graph`` in the format of the URL suffix ``fmt`` (``ttl``, ``jsonld``, ``rdf``)."""
    rdflib_format, _media_type = FORMATS_RDF[fmt]
    if rdflib_format == "json-ld":
        context = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
        return graph.serialize(format="json-ld", context=context, auto_compact=True).encode()
    return graph.serialize(format=rdflib_format, encoding="utf-8")

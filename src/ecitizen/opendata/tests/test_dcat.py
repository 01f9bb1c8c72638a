"""DCAT-AP 3: the catalogue and each dataset in Turtle, JSON-LD and RDF/XML, valid against
the official DCAT-AP 3.0.1 SHACL shapes (``tests/data/dcat-ap-3.0.1``, CC BY 4.0 © European
Union), the same graph in each format, paged with Hydra, and only public datasets in it."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS

from ecitizen.opendata import datastore, services
from ecitizen.opendata.dcat.graph import HYDRA, SPDX, VCARD
from ecitizen.opendata.models import Resource
from tests.factories import JurisdictionFactory
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

SHAPES = Path(__file__).parent / "data" / "dcat-ap-3.0.1"
EU = "http://publications.europa.eu/resource/authority/"
FORMATS = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml"),
}

SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True}},
        {"name": "species", "type": "string"},
        {"name": "height_m", "type": "number"},
    ]
}
CSV = b"id,species,height_m\n1,Oak,4.5\n2,Elm,3\n"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


SH = Namespace("http://www.w3.org/ns/shacl#")


def _parse(*names: str) -> Graph:
    graph = Graph()
    for name in names:
        graph.parse(SHAPES / name, format="turtle")
    return graph


@functools.cache
def _shape_sets() -> dict[str, Graph]:
    """The release's two sets of shapes.

    ``html/shacl/shapes.ttl`` + ``range.ttl`` are the shapes the specification publishes
    (complete). ``shacl/dcat-ap-SHACL.ttl`` names two property shapes of
    ``dcat:DataService`` (the ranges of ``dcat:endpointURL`` and
    ``dcat:endpointDescription``) that only ``shacl/ranges.ttl`` defines, and pySHACL
    stops on a shape it cannot find: their definitions are taken from ``ranges.ttl``, in
    memory (the files stay as published)."""
    generated = _parse("shacl/dcat-ap-SHACL.ttl")
    ranges = _parse("shacl/ranges.ttl")
    missing = {
        shape
        for shape in generated.objects(None, SH.property)
        if generated.value(shape, SH.path) is None
    }
    assert len(missing) == 2, missing  # the shipped file changed: look again
    for shape in missing:
        assert ranges.value(shape, SH.path) is not None
        for triple in ranges.triples((shape, None, None)):
            generated.add(triple)
    return {
        "html/shacl/shapes.ttl + range.ttl": _parse(
            "html/shacl/shapes.ttl", "html/shacl/range.ttl"
        ),
        "shacl/dcat-ap-SHACL.ttl": generated,
    }


def assert_dcat_ap_valid(graph: Graph) -> None:
    """Fail on any violation of the DCAT-AP 3.0.1 shapes (either set, with no inference
    and with RDFS inference), printing the report. The recommended properties'
    shapes (``shapes_recommended.ttl``, warnings) must hold too."""
    for name, shapes in _shape_sets().items():
        for inference in ("none", "rdfs"):
            conforms, _report, text = pyshacl.validate(
                graph,
                shacl_graph=shapes,
                inference=inference,
                abort_on_first=False,
                allow_warnings=False,
                allow_infos=False,
            )
            assert conforms, f"DCAT-AP 3.0.1 {name} (inference {inference}):\n{text}"
    _assert_recommended(graph)


#: Recommended properties the platform cannot always give: they depend on what the
#: publisher filled in (keywords, themes, period, contact, a file's description), on
#: geometry it does not hold (a place's box and centre), or would list every dataset
#: (the API's ``dcat:servesDataset``).
DATA_DEPENDENT = {
    (DCAT.Dataset, DCAT.keyword),
    (DCAT.Dataset, DCAT.theme),
    (DCAT.Dataset, DCTERMS.temporal),
    (DCAT.Dataset, DCAT.contactPoint),
    (DCAT.Distribution, DCTERMS.description),
    (DCTERMS.Location, DCAT.bbox),
    (DCTERMS.Location, DCAT.centroid),
    (DCAT.DataService, DCAT.servesDataset),
}


def _assert_recommended(graph: Graph) -> None:
    """The recommended properties' shapes (warnings): none may be missing but those that
    depend on the data."""
    _conforms, report, text = pyshacl.validate(
        graph,
        shacl_graph=_parse("html/shacl/shapes_recommended.ttl"),
        inference="none",
        abort_on_first=False,
    )
    unexpected = []
    for result in report.objects(None, SH.result):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        classes = set(graph.objects(focus, RDF.type))
        if not any((cls, path) in DATA_DEPENDENT for cls in classes):
            unexpected.append((focus, path))
    assert not unexpected, f"{unexpected}\n{text}"


@pytest.fixture(autouse=True)
def _datastore(settings, tmp_path, monkeypatch):
    """The DataStore is not under test here: loading a valid table "succeeds" at once, so
    that tabular resources are published as loaded (and served by the API)."""
    settings.DATASTORE_DIR = tmp_path / "datastore"

    def load(*, resource, path):
        return (f"t_{resource.pk.hex}", 2)

    monkeypatch.setattr(datastore, "table_load", load, raising=False)


def _create(department, name, **fields):
    values = {
        "name": name,
        "titles": {"en": f"Title of {name}", "fr": f"Titre de {name}"},
        "descriptions": {"en": f"About {name}.", "fr": f"À propos de {name}."},
        "licence_id": "OGL-UK-3.0",
        **fields,
    }
    return services.dataset_create(actor=None, department=department, fields=values)


def _add_table(dataset, capture):
    with capture(execute=True):
        return services.resource_add(
            actor=None,
            dataset=dataset,
            filename="trees.csv",
            content=CSV,
            schema=SCHEMA,
            names={"en": "Trees", "fr": "Arbres"},
            descriptions={"en": "One row a tree."},
        )


def _add_pdf(dataset):
    return services.resource_add(
        actor=None, dataset=dataset, filename="method.pdf", content=PDF, names="Method"
    )


@pytest.fixture
def catalogue(department, other_department, django_capture_on_commit_callbacks):
    """Three public datasets (one in a ward, with a table and a document; one linking
    elsewhere; one of another department), a withdrawn, a private and a draft one."""
    capture = django_capture_on_commit_callbacks
    ward = JurisdictionFactory(code="riverside", name="Riverside", names={"fr": "Bord"})
    trees = _create(
        department,
        "street-trees",
        themes=["ENVI", "REGI"],
        keywords=["trees", "parks"],
        ward=ward.code,
        temporal_start="2024-01-01",
        temporal_end="2024-12-31",
        frequency="MONTHLY",
        version="2024.1",
        contact_name="Parks team",
        contact_email="parks@riverton.example",
    )
    _add_table(trees, capture)
    _add_pdf(trees)
    services.dataset_publish(actor=None, dataset=trees)

    links = _create(department, "bus-stops", themes=["TRAN"], descriptions={})
    services.resource_add(
        actor=None,
        dataset=links,
        url="https://transport.example/stops.geojson",
        format_label="GeoJSON",
        names="Stops",
    )
    services.dataset_publish(actor=None, dataset=links)

    planning = _create(other_department, "planning-applications", frequency="WEEKLY")
    _add_pdf(planning)
    services.dataset_publish(actor=None, dataset=planning)

    withdrawn = _create(department, "old-bins")
    _add_pdf(withdrawn)
    services.dataset_publish(actor=None, dataset=withdrawn)
    services.dataset_withdraw(actor=None, dataset=withdrawn, reason="Replaced by waste-rounds.")

    hidden = _create(department, "staff-rota", private=True)
    _add_pdf(hidden)
    services.dataset_publish(actor=None, dataset=hidden)

    _create(department, "draft-plans")
    return {"trees": trees, "links": links, "planning": planning}


def _fetch(client, path, fmt, **params) -> Graph:
    response = client.get(f"{path}.{fmt}", params)
    assert response.status_code == 200, response.content[:500]
    rdflib_format, media_type = FORMATS[fmt]
    assert response["Content-Type"].split(";")[0] == media_type
    graph = Graph()
    graph.parse(data=response.content, format=rdflib_format)
    return graph


def _dataset_names(graph: Graph) -> set[str]:
    return {
        str(graph.value(page, DCAT.landingPage)).rstrip("/").rsplit("/", 1)[-1]
        for page in graph.subjects(RDF.type, DCAT.Dataset)
    }


def _without_paging(graph: Graph) -> Graph:
    pages = set(graph.subjects(RDF.type, HYDRA.PagedCollection))
    rest = Graph()
    for triple in graph:
        if triple[0] not in pages:
            rest.add(triple)
    return rest


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_the_catalogue_is_valid_dcat_ap_3_in_each_format(client, catalogue, fmt):
    graph = _fetch(client, "/catalog", fmt)

    assert_dcat_ap_valid(graph)
    assert _dataset_names(graph) == {"street-trees", "bus-stops", "planning-applications"}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_dataset_is_valid_dcat_ap_3_in_each_format(client, catalogue, fmt):
    for name in ("street-trees", "bus-stops", "planning-applications"):
        graph = _fetch(client, f"/dataset/{name}", fmt)

        assert_dcat_ap_valid(graph)
        assert _dataset_names(graph) == {name}


def test_the_shapes_do_find_violations(client, catalogue):
    """The validation above is not vacuous: a dataset without a title, a distribution
    without an access URL and a checksum that is not hexBinary are each reported."""
    graph = _fetch(client, "/dataset/street-trees", "ttl")
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
    graph.remove((dataset, DCTERMS.title, None))
    distribution = next(graph.objects(dataset, DCAT.distribution))
    graph.remove((distribution, DCAT.accessURL, None))
    checksum = next(
        c for c in graph.subjects(RDF.type, SPDX.Checksum) if (None, SPDX.checksum, c) in graph
    )
    graph.set((checksum, SPDX.checksumValue, Literal("not hex")))

    for name, shapes in _shape_sets().items():
        conforms, report, text = pyshacl.validate(
            graph, shacl_graph=shapes, inference="none", abort_on_first=False
        )

        assert not conforms, name
        paths = set(report.objects(None, SH.resultPath))
        assert {DCTERMS.title, DCAT.accessURL, SPDX.checksumValue} <= paths, text


def test_texts_that_xml_cannot_carry_are_cleaned(client, catalogue):
    services.dataset_update(
        actor=None,
        dataset=catalogue["links"],
        fields={"descriptions": {"en": "Stops\x0b and\x1f shelters"}},
    )
    graphs = {fmt: _fetch(client, "/dataset/bus-stops", fmt) for fmt in FORMATS}

    dataset = next(graphs["rdf"].subjects(RDF.type, DCAT.Dataset))
    assert str(graphs["rdf"].value(dataset, DCTERMS.description)) == "Stops and shelters"
    assert isomorphic(graphs["ttl"], graphs["rdf"])


def test_the_three_formats_give_the_same_graph(client, catalogue):
    graphs = {fmt: _fetch(client, "/dataset/street-trees", fmt) for fmt in FORMATS}
    assert isomorphic(graphs["ttl"], graphs["jsonld"])
    assert isomorphic(graphs["ttl"], graphs["rdf"])
    assert len(graphs["ttl"]) > 50

    # The catalogue's pages name their own format's next page; all else is the same.
    catalogues = {fmt: _without_paging(_fetch(client, "/catalog", fmt)) for fmt in FORMATS}
    assert isomorphic(catalogues["ttl"], catalogues["jsonld"])
    assert isomorphic(catalogues["ttl"], catalogues["rdf"])


def test_a_dataset_says_what_harvesters_read(client, catalogue):
    graph = _fetch(client, "/dataset/street-trees", "ttl")
    trees = catalogue["trees"]
    dataset = URIRef(f"http://testserver/dataset/{trees.pk}/")
    value = functools.partial(graph.value, dataset)

    assert set(graph.objects(dataset, DCTERMS.title)) == {
        Literal("Title of street-trees", lang="en"),
        Literal("Titre de street-trees", lang="fr"),
    }
    assert Literal("À propos de street-trees.", lang="fr") in set(
        graph.objects(dataset, DCTERMS.description)
    )
    assert value(DCAT.landingPage) == URIRef("http://testserver/dataset/street-trees/")
    assert value(DCTERMS.identifier) == Literal(str(trees.pk))
    publisher = value(DCTERMS.publisher)
    assert publisher == URIRef("http://testserver/organization/revenue/")
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert graph.value(publisher, FOAF.name) == Literal("Revenue", lang="en")
    contact = value(DCAT.contactPoint)
    assert graph.value(contact, VCARD.fn) == Literal("Parks team")
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:parks@riverton.example")
    assert set(graph.objects(dataset, DCAT.theme)) == {
        URIRef(EU + "data-theme/ENVI"),
        URIRef(EU + "data-theme/REGI"),
    }
    assert graph.value(URIRef(EU + "data-theme/ENVI"), SKOS.inScheme) == URIRef(EU + "data-theme")
    # A label is tagged with a language only where it is translated into it.
    for concept in graph.subjects(RDF.type, SKOS.Concept):
        labels = {label.language: str(label) for label in graph.objects(concept, SKOS.prefLabel)}
        assert "en" in labels
        assert all(text != labels["en"] for lang, text in labels.items() if lang != "en")
    assert set(graph.objects(dataset, DCAT.keyword)) == {Literal("trees"), Literal("parks")}
    spatial = value(DCTERMS.spatial)
    assert (spatial, RDF.type, DCTERMS.Location) in graph
    assert graph.value(spatial, SKOS.prefLabel) in {
        Literal("Riverside", lang="en"),
        Literal("Bord", lang="fr"),
    }
    period = value(DCTERMS.temporal)
    assert graph.value(period, DCAT.startDate) == Literal("2024-01-01", datatype=XSD.date)
    assert graph.value(period, DCAT.endDate) == Literal("2024-12-31", datatype=XSD.date)
    assert value(DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/MONTHLY")
    assert value(DCTERMS.issued).datatype == XSD.dateTime
    assert value(DCTERMS.modified).datatype == XSD.dateTime
    assert str(value(Namespace("http://www.w3.org/2002/07/owl#").versionInfo)) == "2024.1"

    distributions = {
        graph.value(d, DCTERMS.format): d for d in graph.objects(dataset, DCAT.distribution)
    }
    assert set(distributions) == {URIRef(EU + "file-type/CSV"), URIRef(EU + "file-type/PDF")}
    table = distributions[URIRef(EU + "file-type/CSV")]
    resource = Resource.objects.get(dataset=trees, format="CSV")
    download = graph.value(table, DCAT.downloadURL)
    assert str(download).startswith(
        f"http://testserver/dataset/street-trees/resource/{resource.pk}/download/"
    )
    assert str(graph.value(table, DCAT.accessURL)).startswith("http://testserver/")
    assert graph.value(table, DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/text/csv"
    )
    assert graph.value(table, DCAT.byteSize) == Literal(len(CSV), datatype=XSD.nonNegativeInteger)
    checksum = graph.value(table, SPDX.checksum)
    assert graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    assert str(graph.value(checksum, SPDX.checksumValue)).lower() == (
        hashlib.sha256(CSV).hexdigest()
    )
    assert graph.value(table, DCTERMS.license) == URIRef(
        "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    )
    schema_url = graph.value(table, DCTERMS.conformsTo)
    assert (schema_url, RDF.type, DCTERMS.Standard) in graph
    schema = client.get(str(schema_url).removeprefix("http://testserver"))
    assert schema.status_code == 200
    assert [f["name"] for f in schema.json()["fields"]] == ["id", "species", "height_m"]
    assert graph.value(table, DCAT.accessService) is not None  # loaded: the API serves it
    document = distributions[URIRef(EU + "file-type/PDF")]
    assert graph.value(document, DCTERMS.conformsTo) is None  # not a table
    assert graph.value(document, DCAT.accessService) is None


def test_a_dataset_without_a_ward_covers_the_authority_and_a_link_is_downloaded_from_it(
    client, catalogue
):
    graph = _fetch(client, "/dataset/bus-stops", "jsonld")
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))

    spatial = graph.value(dataset, DCTERMS.spatial)
    assert graph.value(spatial, SKOS.prefLabel, any=True) is not None
    assert graph.value(spatial, DCTERMS.isPartOf) is None
    # DCAT-AP needs a description: the title stands in when there is none.
    assert graph.value(dataset, DCTERMS.description) is not None
    distribution = graph.value(dataset, DCAT.distribution)
    assert graph.value(distribution, DCAT.downloadURL) == URIRef(
        "https://transport.example/stops.geojson"
    )
    assert graph.value(distribution, DCTERMS.format) == URIRef(EU + "file-type/GEOJSON")


def test_the_catalogue_describes_itself_and_the_api(client, catalogue):
    graph = _fetch(client, "/catalog", "ttl")
    catalog = URIRef("http://testserver/catalog")

    assert (catalog, RDF.type, DCAT.Catalog) in graph
    assert graph.value(catalog, DCTERMS.title, any=True) is not None
    assert graph.value(catalog, FOAF.homepage) == URIRef("http://testserver/dataset/")
    assert graph.value(catalog, DCAT.themeTaxonomy) == URIRef(EU + "data-theme")
    assert set(graph.objects(catalog, DCTERMS.language)) == {
        URIRef(EU + "language/ENG"),
        URIRef(EU + "language/FRA"),
        URIRef(EU + "language/ARA"),
    }
    assert graph.value(catalog, DCTERMS.license) is not None
    service = graph.value(catalog, DCAT.service)
    assert graph.value(service, DCAT.endpointURL) == URIRef("http://testserver/api/3/action/")
    assert len(set(graph.objects(catalog, DCAT.dataset))) == 3


def test_withdrawn_private_and_draft_datasets_are_not_in_the_catalogue(client, catalogue):
    for fmt in FORMATS:
        graph = _fetch(client, "/catalog", fmt)
        names = _dataset_names(graph)
        assert not names & {"old-bins", "staff-rota", "draft-plans"}
        assert "staff-rota" not in graph.serialize(format="turtle")


def test_a_private_draft_or_unknown_dataset_is_not_found(client, catalogue):
    for name in ("staff-rota", "draft-plans", "no-such-thing"):
        for fmt in FORMATS:
            assert client.get(f"/dataset/{name}.{fmt}").status_code == 404


def test_its_department_s_publisher_reads_a_private_dataset(client, catalogue, publisher):
    sign_in_official(client, publisher)

    response = client.get("/dataset/staff-rota.ttl")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "staff-rota" not in client.get("/catalog.ttl").content.decode()


def test_the_catalogue_is_paged_with_hydra(client, catalogue, settings):
    settings.OPENDATA_DCAT_PAGE_SIZE = 2
    first = _fetch(client, "/catalog", "ttl")
    second = _fetch(client, "/catalog", "ttl", page=2)

    page = URIRef("http://testserver/catalog.ttl?page=2")
    assert (page, RDF.type, HYDRA.PagedCollection) in second
    assert second.value(page, HYDRA.totalItems).toPython() == 3
    assert second.value(page, HYDRA.itemsPerPage).toPython() == 2
    assert str(second.value(page, HYDRA.first)) == "http://testserver/catalog.ttl?page=1"
    assert str(second.value(page, HYDRA.last)) == "http://testserver/catalog.ttl?page=2"
    assert str(second.value(page, HYDRA.previous)) == "http://testserver/catalog.ttl?page=1"
    assert second.value(page, HYDRA.next) is None
    first_page = URIRef("http://testserver/catalog.ttl?page=1")
    assert str(first.value(first_page, HYDRA.nextPage)) == "http://testserver/catalog.ttl?page=2"
    assert str(first.value(first_page, HYDRA.next)) == "http://testserver/catalog.ttl?page=2"
    # Sorted by name, two then one, no dataset twice, each page valid on its own.
    assert _dataset_names(first) == {"bus-stops", "planning-applications"}
    assert _dataset_names(second) == {"street-trees"}
    assert_dcat_ap_valid(second)
    jsonld = _fetch(client, "/catalog", "jsonld", page=2)
    assert str(jsonld.value(URIRef("http://testserver/catalog.jsonld?page=2"), HYDRA.first)) == (
        "http://testserver/catalog.jsonld?page=1"
    )


def test_bad_paging_and_dates_are_refused_clearly(client, catalogue):
    for page in ("0", "two", "-1"):
        response = client.get("/catalog.ttl", {"page": page})
        assert response.status_code == 400
        assert "page" in response.content.decode()
    assert client.get("/catalog.ttl", {"page": 9}).status_code == 404
    response = client.get("/catalog.ttl", {"modified_since": "last tuesday"})
    assert response.status_code == 400
    assert "modified_since" in response.content.decode()


def test_modified_since_keeps_recent_changes(client, catalogue):
    assert _dataset_names(_fetch(client, "/catalog", "ttl", modified_since="2000-01-01")) == {
        "street-trees",
        "bus-stops",
        "planning-applications",
    }
    assert _dataset_names(_fetch(client, "/catalog", "ttl", modified_since="2999-01-01")) == set()


def test_the_catalogue_uri_answers_with_the_format_asked_for(client, catalogue):
    cases = {
        "application/ld+json": "/catalog.jsonld",
        "application/rdf+xml": "/catalog.rdf",
        "text/turtle": "/catalog.ttl",
        "*/*": "/catalog.ttl",
        "text/html,application/xhtml+xml": "/dataset/",
    }
    for accept, target in cases.items():
        response = client.get("/catalog", headers={"Accept": accept})
        assert response.status_code in {302, 303}
        assert response["Location"] == target


def test_the_schema_of_a_document_or_hidden_dataset_is_not_found(client, catalogue):
    trees = catalogue["trees"]
    document = Resource.objects.get(dataset=trees, format="PDF")
    assert (
        client.get(f"/dataset/street-trees/resource/{document.pk}/schema.json").status_code == 404
    )
    table = Resource.objects.get(dataset=trees, format="CSV")
    assert client.get(f"/dataset/bus-stops/resource/{table.pk}/schema.json").status_code == 404

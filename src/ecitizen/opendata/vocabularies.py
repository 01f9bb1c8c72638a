"""The controlled lists a dataset's metadata draws from: licences (CKAN's
``license_list``), the EU data themes and update frequencies (the Publications Office's
authority tables, which DCAT-AP requires), and the resource formats the platform reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class Licence:
    """A licence as CKAN's ``license_list`` describes it."""

    id: str
    title: str
    url: str
    od_conformance: str = "approved"  # Open Definition conformance
    osd_conformance: str = "not reviewed"
    family: str = ""

    def as_ckan(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "od_conformance": self.od_conformance,
            "osd_conformance": self.osd_conformance,
            "family": self.family,
            "status": "active",
            "maintainer": "",
            "is_generic": False,
            "is_okd_compliant": self.od_conformance == "approved",
            "is_osi_compliant": self.osd_conformance == "approved",
            "domain_content": True,
            "domain_data": True,
            "domain_software": False,
        }


LICENCES: dict[str, Licence] = {
    licence.id: licence
    for licence in (
        Licence(
            "OGL-UK-3.0",
            "Open Government Licence 3.0 (United Kingdom)",
            "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
        ),
        Licence(
            "CC-BY-4.0",
            "Creative Commons Attribution 4.0",
            "https://creativecommons.org/licenses/by/4.0/",
        ),
        Licence(
            "CC-BY-SA-4.0",
            "Creative Commons Attribution Share-Alike 4.0",
            "https://creativecommons.org/licenses/by-sa/4.0/",
        ),
        Licence(
            "CC0-1.0",
            "Creative Commons CCZero 1.0",
            "https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        Licence(
            "ODC-BY-1.0",
            "Open Data Commons Attribution License 1.0",
            "https://opendatacommons.org/licenses/by/1-0/",
        ),
        Licence(
            "ODbL-1.0",
            "Open Data Commons Open Database License 1.0",
            "https://opendatacommons.org/licenses/odbl/1-0/",
        ),
        Licence(
            "etalab-2.0",
            "Licence Ouverte / Open Licence 2.0 (Etalab)",
            "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
        ),
    )
}

#: The EU data-theme vocabulary: code -> label. CKAN shows themes as groups.
THEMES: dict[str, object] = {
    "AGRI": _("Agriculture, fisheries, forestry and food"),
    "ECON": _("Economy and finance"),
    "EDUC": _("Education, culture and sport"),
    "ENER": _("Energy"),
    "ENVI": _("Environment"),
    "GOVE": _("Government and public sector"),
    "HEAL": _("Health"),
    "INTR": _("International issues"),
    "JUST": _("Justice, legal system and public safety"),
    "REGI": _("Regions and cities"),
    "SOCI": _("Population and society"),
    "TECH": _("Science and technology"),
    "TRAN": _("Transport"),
}

#: The EU frequency vocabulary (the codes publishers use): code -> label.
FREQUENCIES: dict[str, object] = {
    "CONT": _("Continuously updated"),
    "DAILY": _("Daily"),
    "WEEKLY": _("Weekly"),
    "MONTHLY": _("Monthly"),
    "QUARTERLY": _("Quarterly"),
    "ANNUAL": _("Annual"),
    "IRREG": _("Irregular"),
    "NEVER": _("Never"),
    "UNKNOWN": _("Unknown"),
}


@dataclass(frozen=True)
class Format:
    """A resource format: CKAN's label, its media type, the EU file-type code, whether
    the platform reads it as a table (validated and loaded into the DataStore)."""

    label: str
    media_type: str
    eu_code: str
    tabular: bool
    extensions: tuple[str, ...]


FORMATS: dict[str, Format] = {
    fmt.label: fmt
    for fmt in (
        Format("CSV", "text/csv", "CSV", True, (".csv",)),
        Format(
            "XLSX",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "XLSX",
            True,
            (".xlsx",),
        ),
        Format("JSON", "application/json", "JSON", True, (".json",)),
        Format("Parquet", "application/vnd.apache.parquet", "PARQUET", True, (".parquet",)),
        Format("GeoJSON", "application/geo+json", "GEOJSON", False, (".geojson",)),
        Format("PDF", "application/pdf", "PDF", False, (".pdf",)),
    )
}


def format_for_filename(filename: str) -> Format | None:
    """The format a file's extension names, or ``None`` for one the platform does not take."""
    lower = filename.lower()
    for fmt in FORMATS.values():
        if lower.endswith(fmt.extensions):
            return fmt
    return None

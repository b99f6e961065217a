"""Namespaces, controlled-vocabulary short names and country codes of the FAIR Data Point."""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, XSD

__all__ = ["DCAT", "DCTERMS", "FOAF", "RDF", "RDFS", "XSD"]

ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DPV = Namespace("https://w3id.org/dpv#")
FDP = Namespace("https://w3id.org/fdp/fdp-o#")
GDI = Namespace("http://data.gdi.eu/core/p2/")
HEALTH = Namespace("http://healthdataportal.eu/ns/health#")
LDP = Namespace("http://www.w3.org/ns/ldp#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
#: DCAT 3's dcat:version (rdflib's DCAT namespace is DCAT 2).
#: Terms of our own (the cache state of a catalog served while its node is down).
MESH = Namespace("https://allelemesh.org/ns#")

DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")

PREFIXES = {
    "adms": ADMS,
    "dcat": DCAT,
    "dcatap": DCATAP,
    "dct": DCTERMS,
    "dpv": DPV,
    "fdp-o": FDP,
    "foaf": FOAF,
    "gdi": GDI,
    "healthdcatap": HEALTH,
    "ldp": LDP,
    "mesh": MESH,
    "vcard": VCARD,
    "xsd": XSD,
}

_EU = "http://publications.europa.eu/resource/authority/"
#: EHDS (Regulation (EU) 2025/327): the default applicable legislation of health datasets.
EHDS = "http://data.europa.eu/eli/reg/2025/327/oj"
FDP_SPEC = "https://specs.fairdatapoint.org/fdp-specs-v1.2.html"
BEACON_SPEC = "https://github.com/ga4gh-beacon/beacon-v2"
JSON_FILE_TYPE = _EU + "file-type/JSON"
DISTRIBUTION_COMPLETED = _EU + "distribution-status/COMPLETED"

#: Metadata-file key -> the namespace its short names (values without ``:``) expand in,
#: so ``access_rights = "RESTRICTED"`` means the EU access-right vocabulary's RESTRICTED.
SHORT_NAMES = {
    "access_rights": _EU + "access-right/",
    "status": _EU + "dataset-status/",
    "themes": _EU + "data-theme/",
    "languages": _EU + "language/",
    "types": _EU + "dataset-type/",
    "health_categories": str(GDI),
    "conforms_to": str(GDI),
    "legal_basis": str(DPV),
    "applicable_legislation": "http://data.europa.eu/eli/",
}

#: ISO 3166-1 alpha-2 -> (alpha-3, as the EU country vocabulary names it; English name).
COUNTRIES = {
    "AT": ("AUT", "Austria"),
    "BE": ("BEL", "Belgium"),
    "BG": ("BGR", "Bulgaria"),
    "CH": ("CHE", "Switzerland"),
    "CY": ("CYP", "Cyprus"),
    "CZ": ("CZE", "Czechia"),
    "DE": ("DEU", "Germany"),
    "DK": ("DNK", "Denmark"),
    "EE": ("EST", "Estonia"),
    "ES": ("ESP", "Spain"),
    "FI": ("FIN", "Finland"),
    "FR": ("FRA", "France"),
    "GB": ("GBR", "United Kingdom"),
    "GR": ("GRC", "Greece"),
    "HR": ("HRV", "Croatia"),
    "HU": ("HUN", "Hungary"),
    "IE": ("IRL", "Ireland"),
    "IS": ("ISL", "Iceland"),
    "IT": ("ITA", "Italy"),
    "LI": ("LIE", "Liechtenstein"),
    "LT": ("LTU", "Lithuania"),
    "LU": ("LUX", "Luxembourg"),
    "LV": ("LVA", "Latvia"),
    "MT": ("MLT", "Malta"),
    "NL": ("NLD", "Netherlands"),
    "NO": ("NOR", "Norway"),
    "PL": ("POL", "Poland"),
    "PT": ("PRT", "Portugal"),
    "RO": ("ROU", "Romania"),
    "SE": ("SWE", "Sweden"),
    "SI": ("SVN", "Slovenia"),
    "SK": ("SVK", "Slovakia"),
    "TR": ("TUR", "Türkiye"),
}


def country_iri(country: str) -> str | None:
    """The EU country vocabulary's IRI of an ISO alpha-2 code (None if not European)."""
    entry = COUNTRIES.get(country)
    return f"{_EU}country/{entry[0]}" if entry else None


def country_name(country: str) -> str:
    """English name of a country code (the code itself when unknown)."""
    entry = COUNTRIES.get(country)
    return entry[1] if entry else country

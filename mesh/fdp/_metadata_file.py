"""The dataset metadata file (``dataset-metadata.toml``): read, check its types, resolve.

The file holds what the GDI metadata model asks of a dataset that the index cannot know
(titles, agents, access rights, vocabularies ...); see ``samples/dataset-metadata.toml``.
:func:`parse_metadata_text` checks types and spelling only (a missing field is for the
SHACL shapes to name, so the rule lives in one place) and returns a
``mesh.v1.DatasetMetadata`` whose texts may still hold the placeholders ``{id}``,
``{country}``, ``{assembly}`` and ``{id_digits}``; :func:`resolve_metadata` fills them
for one dataset, so one file can describe every dataset of a node.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from mesh.errors import ConfigError
from mesh.fdp._vocab import SHORT_NAMES
from mesh.v1 import catalog_service_pb2

Metadata = catalog_service_pb2.DatasetMetadata

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
#: An absolute IRI without the characters Turtle and RDF/XML cannot carry in one.
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_EMAIL = re.compile(r"^[^\s<>\"@]+@[^\s<>\"@]+\.[^\s<>\"@]+$")
_PLACEHOLDER = re.compile(r"\{(id|country|assembly|id_digits)\}")

_AGENT_KEYS = {"name", "type", "email", "homepage", "contact_point"}
_CONTACT_KEYS = {"name", "email", "url"}
_IRI_LISTS = (
    "applicable_legislation",
    "health_categories",
    "themes",
    "languages",
    "conforms_to",
    "legal_basis",
    "types",
    "is_referenced_by",
)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}", metadata={"key": key})

    def keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{where}{key}", "is not a known key (check its spelling)")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {type(value).__name__} {value!r}")
        return value

    def iri(self, value: Any, key: str, short: str | None = None) -> str:
        text = self.string(value, key).strip()
        if short is not None and ":" not in text:
            text = short + text
        if not _IRI.match(text):
            raise self.fail(key, f"{value!r} must be an absolute IRI (http://..., https://...)")
        return text

    def email(self, value: Any, key: str) -> str:
        text = self.string(value, key).strip().removeprefix("mailto:")
        if not _EMAIL.match(text):
            raise self.fail(key, f"{value!r} must be an e-mail address such as info@example.org")
        return text

    def texts(self, value: Any, key: str) -> list[catalog_service_pb2.LocalizedText]:
        """``"text"`` (English) or ``{ en = "...", nb = "..." }``."""
        if isinstance(value, str):
            value = {"en": value}
        if not isinstance(value, dict):
            raise self.fail(key, 'must be a string or a table of languages { en = "..." }')
        out = []
        for language, text in value.items():
            if not _LANGUAGE.match(language):
                raise self.fail(f"{key}.{language}", "is not a language tag such as en or nb")
            out.append(
                catalog_service_pb2.LocalizedText(
                    text=self.string(text, f"{key}.{language}"), language=language.lower()
                )
            )
        return out

    def listed(self, value: Any, key: str, item: Callable[[Any, str], Any]) -> list[Any]:
        items = value if isinstance(value, list) else [value]
        return [item(v, f"{key}[{i}]") for i, v in enumerate(items)]

    def contact(self, value: Any, key: str) -> catalog_service_pb2.ContactPoint:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table with name, email and url")
        self.keys(value, _CONTACT_KEYS, f"{key}.")
        contact = catalog_service_pb2.ContactPoint()
        if "name" in value:
            contact.name = self.string(value["name"], f"{key}.name")
        if "email" in value:
            contact.email = self.email(value["email"], f"{key}.email")
        if "url" in value:
            contact.url = self.iri(value["url"], f"{key}.url")
        return contact

    def agent(self, value: Any, key: str) -> catalog_service_pb2.Agent:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table with name, type, email, homepage")
        self.keys(value, _AGENT_KEYS, f"{key}.")
        agent = catalog_service_pb2.Agent()
        if "name" in value:
            agent.name.extend(self.texts(value["name"], f"{key}.name"))
        if "type" in value:
            agent.type = self.iri(
                value["type"], f"{key}.type", "http://purl.org/adms/publishertype/"
            )
        if "email" in value:
            agent.email = self.email(value["email"], f"{key}.email")
        if "homepage" in value:
            agent.homepage = self.iri(value["homepage"], f"{key}.homepage")
        if "contact_point" in value:
            contact = self.contact(value["contact_point"], f"{key}.contact_point")
            agent.contact_point.CopyFrom(contact)
        return agent

    def date(self, value: Any, key: str) -> str:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        raise self.fail(key, f"must be a TOML date such as 2024-01-31, got {value!r}")


_KNOWN = {
    "title",
    "description",
    "identifier",
    "publisher",
    "creators",
    "contact_point",
    "hdab",
    "access_rights",
    "keywords",
    "status",
    "version",
    "temporal",
    *_IRI_LISTS,
}


def parse_metadata_text(text: str, source: str = "metadata") -> Metadata:
    """Check a metadata file's text and return it as ``mesh.v1.DatasetMetadata``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    reader = _Reader(source)
    reader.keys(data, _KNOWN, "")
    meta = Metadata()
    if "title" in data:
        meta.title.extend(reader.texts(data["title"], "title"))
    if "description" in data:
        meta.description.extend(reader.texts(data["description"], "description"))
    if "identifier" in data:
        meta.identifier = reader.string(data["identifier"], "identifier")
    if "publisher" in data:
        meta.publisher.CopyFrom(reader.agent(data["publisher"], "publisher"))
    if "creators" in data:
        meta.creators.extend(reader.listed(data["creators"], "creators", reader.agent))
    if "contact_point" in data:
        meta.contact_point.CopyFrom(reader.contact(data["contact_point"], "contact_point"))
    if "hdab" in data:
        meta.hdab.CopyFrom(reader.agent(data["hdab"], "hdab"))
    if "access_rights" in data:
        meta.access_rights = reader.iri(
            data["access_rights"], "access_rights", SHORT_NAMES["access_rights"]
        )
    if "status" in data:
        meta.status = reader.iri(data["status"], "status", SHORT_NAMES["status"])
    for key in _IRI_LISTS:
        if key in data:
            items = data[key] if isinstance(data[key], list) else [data[key]]
            getattr(meta, key).extend(
                reader.iri(v, f"{key}[{i}]", SHORT_NAMES.get(key)) for i, v in enumerate(items)
            )
    if "keywords" in data:
        keywords = data["keywords"]
        if isinstance(keywords, list):
            keywords = {"en": keywords}
        if not isinstance(keywords, dict):
            raise reader.fail("keywords", 'must be a list of strings or { en = ["..."] }')
        for language, words in keywords.items():
            for word in reader.listed(words, f"keywords.{language}", reader.string):
                meta.keywords.extend(reader.texts({language: word}, "keywords"))
    if "version" in data:
        meta.version = reader.string(data["version"], "version")
    if "temporal" in data:
        temporal = data["temporal"]
        if not isinstance(temporal, dict):
            raise reader.fail("temporal", "must be a table with start and end dates")
        reader.keys(temporal, {"start", "end"}, "temporal.")
        if "start" in temporal:
            meta.temporal_start = reader.date(temporal["start"], "temporal.start")
        if "end" in temporal:
            meta.temporal_end = reader.date(temporal["end"], "temporal.end")
    _check_placeholders(meta, reader)
    return meta


def _check_placeholders(meta: Metadata, reader: _Reader) -> None:
    for match in re.finditer(r"\{([a-z_]+)\}", meta.identifier):
        if not _PLACEHOLDER.fullmatch(match.group(0)):
            raise reader.fail(
                "identifier",
                f"unknown placeholder {match.group(0)}; use {{id}}, {{country}}, "
                "{assembly} or {id_digits}",
            )


def id_digits(dataset_id: str) -> str:
    """A stable 12-digit number for a dataset id (for GDI-style identifiers)."""
    return str(int(hashlib.sha256(dataset_id.encode("utf-8")).hexdigest()[:12], 16) % 10**12).zfill(
        12
    )


def resolve_metadata(meta: Metadata, dataset_id: str, country: str, assembly: str) -> Metadata:
    """A copy of ``meta`` with the placeholders filled for one dataset."""
    values = {
        "id": dataset_id,
        "country": country,
        "assembly": assembly,
        "id_digits": id_digits(dataset_id),
    }

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

    out = Metadata()
    out.CopyFrom(meta)
    out.identifier = fill(out.identifier)
    for group in (out.title, out.description, out.keywords):
        for item in group:
            item.text = fill(item.text)
    return out

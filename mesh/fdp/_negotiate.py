"""Content negotiation of FDP documents: Turtle (default), JSON-LD, RDF/XML."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph


@dataclass(frozen=True)
class RdfFormat:
    """One serialization: its rdflib plugin name and media type."""

    name: str
    rdflib: str
    media_type: str


TURTLE = RdfFormat("ttl", "turtle", "text/turtle")
JSONLD = RdfFormat("jsonld", "json-ld", "application/ld+json")
RDFXML = RdfFormat("rdf", "xml", "application/rdf+xml")
FORMATS = (TURTLE, JSONLD, RDFXML)
_BY_NAME = {f.name: f for f in FORMATS}
_BY_TYPE = {f.media_type: f for f in FORMATS}


class FormatError(ValueError):
    """The ``format`` parameter or the ``Accept`` header asks for nothing we serve."""


def choose_format(accept: str | None, format_param: str | None) -> RdfFormat:
    """``?format=`` wins; otherwise the ``Accept`` entry with the highest q; else Turtle."""
    if format_param:
        chosen = _BY_NAME.get(format_param.strip().lower())
        if chosen is None:
            names = ", ".join(f.name for f in FORMATS)
            raise FormatError(f"format {format_param!r} is not served; use one of {names}")
        return chosen
    if not accept:
        return TURTLE
    best: tuple[float, int, RdfFormat] | None = None
    any_wildcard = False
    for position, entry in enumerate(accept.split(",")):
        media, _, params = entry.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        found = _BY_TYPE.get(media)
        if found is None and media in ("application/json",):
            found = JSONLD
        if found is None:
            any_wildcard = any_wildcard or media in ("*/*", "text/*", "application/*")
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, found)
    if best is not None:
        return best[2]
    if any_wildcard:
        return TURTLE
    types = ", ".join(f.media_type for f in FORMATS)
    raise FormatError(f"Accept: {accept!r} names no type this FDP serves ({types})")


def serialize(graph: Graph, rdf_format: RdfFormat) -> bytes:
    """The graph in ``rdf_format``, UTF-8."""
    return graph.serialize(format=rdf_format.rdflib, encoding="utf-8")

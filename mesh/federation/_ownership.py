"""Dataset ownership: which source a dataset id belongs to, so no peer can shadow another's.

Two sources announcing the same dataset id would otherwise both be asked for it and their
rows pooled as one dataset. :class:`DatasetOwners` binds each id to one source:

* ``first`` (default): the first source that announced it, in catalogue-fetch order
  (sources fetched in the same round: configuration order). The binding lasts for the
  life of the process, so a later claimant never takes an id over, even while the owner
  is down. Its weakness: an id announced by an impostor before its owner was ever seen
  (say the owner was unreachable when the gateway started) goes to the impostor, until
  a restart finds the owner first;
* ``country-prefix``: an id belongs to a source of the country its prefix names (``no-``,
  ``NO_``, ``no.``, ``no:``; case-insensitive), first come among those. Ids without their
  announcer's country prefix are refused, whatever the order.

Every refused (id, claimant) pair is a :class:`Shadowing`: routing never asks the claimant
for that id nor pools its rows for it, and outcomes and ``/metrics`` report it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from google.rpc import status_pb2

from mesh.errors import PermissionDeniedError
from mesh.federation._sources import Source

FIRST = "first"
COUNTRY_PREFIX = "country-prefix"
MODES = (FIRST, COUNTRY_PREFIX)

_PREFIX = re.compile(r"^([A-Za-z]{2})[-_.:]")


@dataclass(frozen=True)
class Shadowing:
    """``claimant`` announced ``dataset_id``, which is not its to announce."""

    dataset_id: str
    claimant_id: str
    claimant_country: str
    owner_id: str = ""
    owner_country: str = ""

    def status(self) -> status_pb2.Status:
        """``PERMISSION_DENIED`` naming both nodes (or the missing prefix)."""
        if self.owner_id:
            message = (
                f"dataset id {self.dataset_id!r} belongs to {self.owner_id} "
                f"({self.owner_country}), which announced it first; {self.claimant_id} "
                f"({self.claimant_country}) also announces it and is not asked or pooled for it"
            )
        else:
            message = (
                f"dataset id {self.dataset_id!r} announced by {self.claimant_id} "
                f"({self.claimant_country}) does not start with its country code "
                f"({self.claimant_country.lower()}-...); it is not asked or pooled for it"
            )
        error = PermissionDeniedError(
            message,
            reason="DATASET_ID_SHADOWED",
            metadata={
                "dataset_id": self.dataset_id,
                "claimant": self.claimant_id,
                "owner": self.owner_id,
            },
        )
        return error.to_status()


def prefix_country(dataset_id: str) -> str:
    """The country code an id starts with (``no-a`` -> ``NO``), or ``""``."""
    match = _PREFIX.match(dataset_id)
    return match.group(1).upper() if match else ""


class DatasetOwners:
    """The id -> owning source binding of one catalogue."""

    def __init__(self, mode: str = FIRST) -> None:
        if mode not in MODES:
            raise ValueError(f"dataset ownership {mode!r} must be one of {', '.join(MODES)}")
        self.mode = mode
        self._bound: dict[str, tuple[str, str]] = {}

    def owner(self, dataset_id: str) -> str | None:
        """The id of the source ``dataset_id`` is bound to."""
        bound = self._bound.get(dataset_id)
        return bound[0] if bound else None

    def bind(self, catalogues: Sequence[tuple[Source, Sequence[str]]]) -> list[Shadowing]:
        """Bind ids not yet bound (in the given order); every refused claim now."""
        refused = []
        for source, dataset_ids in catalogues:
            for dataset_id in dict.fromkeys(dataset_ids):
                if self.mode == COUNTRY_PREFIX and prefix_country(dataset_id) != source.country:
                    refused.append(Shadowing(dataset_id, source.id, source.country))
                    continue
                owner = self._bound.setdefault(dataset_id, (source.id, source.country))
                if owner[0] != source.id:
                    refused.append(Shadowing(dataset_id, source.id, source.country, *owner))
        return refused

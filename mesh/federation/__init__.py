"""Federation: one request fanned out over a node's peers, answers merged.

The gateway and every node with ``[[peers]]`` use the same engine::

    backend = MeshBackend.open(config.peers, tls=config.tls, local=local_source,
                               settings=FederationSettings(timeout_s=5.0))
    await backend.start()          # fetch catalogues, start background refresh
    response = await backend.lookup_variant(request, timeout=context.time_remaining())
    await backend.close()

* Every eligible source is asked concurrently over channels opened once per replica
  address; each within ``min(peer timeout, caller's remaining time - margin)``.
* ``outcomes`` holds one ``NodeOutcome`` per source asked; only when every one
  failed is the call ``UNAVAILABLE``, with the outcomes packed in its details.
* ``pooled`` follows the precision rule of :func:`pool_counts`.
* Forwarded requests carry ``x-mesh-hop: 1`` (:data:`HOP_METADATA_KEY`); a node that
  receives a hop >= 1 answers from its own datasets only (:func:`hop_of`).
* Peers get a circuit breaker (closed again by gRPC health probes) and, with several
  ``addresses``, hedged calls.
* Region pages are merged in genomic order behind one signed composite page token.
"""

from mesh.federation._backend import FederationSettings, MeshBackend
from mesh.federation._breaker import BreakerSettings
from mesh.federation._catalog import CATALOGUE_CACHED, cached_since
from mesh.federation._hedging import HedgeSettings
from mesh.federation._pooling import (
    CountPool,
    country_parts,
    is_lower_bound,
    pool_countries,
    pool_counts,
    pool_frequencies,
    pool_populations,
    population_parts,
)
from mesh.federation._sources import LocalHandler, LocalSource, Source, SourceCallError
from mesh.plumbing.callctx import HOP_METADATA_KEY, hop_of

__all__ = [
    "CATALOGUE_CACHED",
    "HOP_METADATA_KEY",
    "BreakerSettings",
    "CountPool",
    "FederationSettings",
    "HedgeSettings",
    "LocalHandler",
    "LocalSource",
    "MeshBackend",
    "Source",
    "SourceCallError",
    "cached_since",
    "country_parts",
    "hop_of",
    "is_lower_bound",
    "pool_countries",
    "pool_counts",
    "pool_frequencies",
    "pool_populations",
    "population_parts",
]

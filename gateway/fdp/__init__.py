"""The mesh-wide FAIR Data Point at ``/fdp`` on the gateway's HTTP port.

The GDI portal harvests it (ckanext-fairdatapoint: the root, then every ``ldp:contains``
link, each fetched separately with ``Accept: text/turtle``). The RDF is built by
:mod:`mesh.fdp` from each node's catalogue entries; this package only decides what is
published (:class:`FdpPublisher`: validated datasets, by country, cached catalogs
marked with their last-seen time) and serves it (:func:`mount_fdp`)::

    publisher = FdpPublisher(backend, config.fdp, telemetry=telemetry)
    await publisher.start()          # validate, log what is left out, keep re-checking
    mount_fdp(app, publisher)
"""

from gateway.fdp._publisher import FdpPublisher, Snapshot
from gateway.fdp._routes import mount_fdp

__all__ = ["FdpPublisher", "Snapshot", "mount_fdp"]

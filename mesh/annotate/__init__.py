"""Annotate a whole VCF with federated allele frequencies (``allelemesh annotate``).

::

    with open_channel(target, tls) as channel, pysam.VariantFile(path) as source:
        groups = catalog_groups(channel, options)
        summary = Annotator(source, channel, options, groups=groups).run()

Every ALT of every record is looked up across the mesh through pipelined
``BatchLookupVariants`` calls; the output is the input, records and order unchanged,
with ``Number=A`` INFO fields per country (or dataset) and pooled (``AF_NO``, ``AC_FI``,
``AN_MESH``...). Unknown counts stay ``.``; a failing node only shows in the summary.
"""

from mesh.annotate._columns import DEFAULT_FIELDS, FIELDS, POOLED, parse_fields
from mesh.annotate._stream import AnnotateOptions, Annotator, NodeTally, Summary, catalog_groups

__all__ = [
    "DEFAULT_FIELDS",
    "FIELDS",
    "POOLED",
    "AnnotateOptions",
    "Annotator",
    "NodeTally",
    "Summary",
    "catalog_groups",
    "parse_fields",
]

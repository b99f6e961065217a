"""Compiled code of allelemesh's index value format (the format: ``nodes.index.records``).

``expand``/``frame_batch`` read stored values and ``batch_keys`` a batch request's
variants (serving); ``pack_counts`` writes the counts part of values from a record's INFO
text and ``pack_lines`` whole keys and values of plain VCF lines (building).
"""

from allelemesh_codec._codec import batch_keys, expand, frame_batch, set_batch_keys, set_keys
from allelemesh_codec._pack import FORMAT, make_packer, pack_counts, pack_lines

__all__ = [
    "FORMAT",
    "batch_keys",
    "expand",
    "frame_batch",
    "make_packer",
    "pack_counts",
    "pack_lines",
    "set_batch_keys",
    "set_keys",
]

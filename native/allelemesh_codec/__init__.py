"""Compiled code of allelemesh's index value format (the format: ``nodes.index.records``).

``expand``/``frame_batch`` read stored values (serving); ``pack_counts`` writes the
counts part of them from a record's INFO text (building).
"""

from allelemesh_codec._codec import expand, frame_batch, set_batch_keys, set_keys
from allelemesh_codec._pack import FORMAT, make_packer, pack_counts

__all__ = [
    "FORMAT",
    "expand",
    "frame_batch",
    "make_packer",
    "pack_counts",
    "set_batch_keys",
    "set_keys",
]

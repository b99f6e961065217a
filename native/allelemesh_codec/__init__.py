"""Compiled expansion of allelemesh index values (the format: ``nodes.index.records``)."""

from allelemesh_codec._codec import expand, frame_batch, set_batch_keys, set_keys

__all__ = ["expand", "frame_batch", "set_batch_keys", "set_keys"]

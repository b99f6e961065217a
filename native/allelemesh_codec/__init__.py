"""Compiled expansion of allelemesh index values (the format: ``nodes.index.records``)."""

from allelemesh_codec._codec import expand, set_keys

__all__ = ["expand", "set_keys"]

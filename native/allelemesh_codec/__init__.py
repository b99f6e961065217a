"""Compiled expansion of allelemesh index values (the format: ``nodes.index.records``)."""

from allelemesh_codec._codec import expand

__all__ = ["expand"]

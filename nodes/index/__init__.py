"""The index format, where building and serving meet.

Key encoding (:mod:`~nodes.index.keys`), the stored value layout
(:mod:`~nodes.index.records`) and the on-disk index directory with its manifest
(:mod:`~nodes.index.index_dir`). ``nodes.build`` writes this format and
``nodes.serve`` reads it; neither half imports the other.
"""

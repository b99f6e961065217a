"""Building an index: VCF/BCF readers, count conventions, encoding, the builder.

Imports the index format (``nodes.index``) and ``mesh``, never ``nodes.serve``.
"""

"""The node's reference FASTA: :class:`mesh.reference.FastaReference`.

It lives in ``mesh`` because the gateway reads the same FASTAs to translate HGVS
indels at its edge; this name stays for the builder and the serving half.
"""

from mesh.reference import FastaReference

__all__ = ["FastaReference"]

"""The variant model: contigs, variants and regions, notation, normalization, paging.

Also HGVS, reference FASTAs and the wire encoding of counts. The bottom layer of
``mesh`` above :mod:`mesh.errors`: it imports no other ``mesh`` layer.
"""

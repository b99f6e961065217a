from typing import Final, NewType

Packer = NewType("Packer", object)
FORMAT: Final[dict[str, int]]

def make_packer(
    ac_keys: tuple[bytes, ...],
    an_keys: tuple[bytes, ...],
    hom_keys: tuple[bytes, ...],
    refused_keys: tuple[bytes, ...],
    picks: tuple[int, ...],
    males: tuple[int, ...],
    /,
) -> Packer: ...
def pack_counts(
    packer: Packer, info: bytes, n_alt: int, haploid: bool, /
) -> tuple[int, tuple[tuple[bytes, bytes], ...]] | None: ...

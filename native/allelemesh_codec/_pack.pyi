from collections.abc import Callable
from typing import Any, Final, NewType

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
def pack_lines(
    packer: Packer,
    contigs: dict[bytes, Any],
    filters: dict[bytes, bytes],
    emit: Callable[[bytes, bytes, Any, bytes], object],
    path: str,
    layout: tuple[int, int, bool, bytes, bytes, bytes, bytes, bytes],
    lines: list[bytes],
    start: int,
    /,
) -> tuple[int, int, int]: ...

from collections.abc import Buffer

def expand(
    groups: int, dataset: bytes, labels: tuple[bytes, ...], suffix: bytes, value: Buffer, /
) -> tuple[bytes, tuple[int, int, int, int, int]]: ...

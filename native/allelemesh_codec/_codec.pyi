from collections.abc import Buffer, Callable

def expand(
    groups: int, dataset: bytes, labels: tuple[bytes, ...], suffix: bytes, value: Buffer, /
) -> tuple[bytes, tuple[int, int, int, int, int]]: ...
def set_keys(keys: bytes, /) -> None: ...
def frame_batch(
    groups: int,
    dataset: bytes,
    labels: tuple[bytes, ...],
    suffix: bytes,
    get: Callable[[bytes], Buffer | None],
    keys: list[bytes],
    echoes: list[bytes],
    node_suffix: bytes,
    pooled_cache: dict[bytes, bytes],
    pool: Callable[[tuple[int, int, int, int, int]], bytes],
    nothing_pooled: bytes,
    trailer: Callable[[int], bytes] | None,
    /,
) -> tuple[bytes, int]: ...
def set_batch_keys(keys: bytes, /) -> None: ...
def batch_keys(
    request: Buffer, table: bytes, /
) -> tuple[list[bytes | None], list[bytes | None], list[int]] | None: ...

"""Page tokens: opaque, bound to their query, refused when forged or replayed elsewhere."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError
from mesh.model.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageTokenCodec,
    page_size_or_default,
    query_fingerprint,
)


@given(state=st.binary(max_size=300))
def test_round_trip(state):
    codec = PageTokenCodec(b"k" * 32)
    fingerprint = query_fingerprint("SearchRegion", "GRCh38", "1:1-100", ["a"])
    assert codec.decode(codec.encode(fingerprint, state), fingerprint) == state


def test_token_from_another_query_is_refused():
    codec = PageTokenCodec()
    token = codec.encode(query_fingerprint("q", 1), b"state")
    with pytest.raises(InvalidArgumentError) as caught:
        codec.decode(token, query_fingerprint("q", 2))
    assert caught.value.field == "page_token"
    assert caught.value.reason == "PAGE_TOKEN_QUERY_MISMATCH"


def test_token_signed_by_another_server_is_refused():
    fingerprint = query_fingerprint("q")
    token = PageTokenCodec(b"a" * 32).encode(fingerprint, b"state")
    with pytest.raises(InvalidArgumentError) as caught:
        PageTokenCodec(b"b" * 32).decode(token, fingerprint)
    assert caught.value.reason == "INVALID_PAGE_TOKEN"


@given(
    position=st.integers(min_value=0, max_value=40), flip=st.integers(min_value=1, max_value=255)
)
def test_any_edited_byte_is_refused(position, flip):
    codec = PageTokenCodec(b"s" * 32)
    fingerprint = query_fingerprint("q")
    raw = bytearray(base64.urlsafe_b64decode(codec.encode(fingerprint, b"resume-here") + "=="))
    raw[position % len(raw)] ^= flip
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidArgumentError):
        codec.decode(forged, fingerprint)


@pytest.mark.parametrize("garbage", ["", "!!!", "a", "x" * 20_000, "AAAA"])
def test_garbage_is_an_invalid_argument(garbage):
    with pytest.raises(InvalidArgumentError):
        PageTokenCodec().decode(garbage, query_fingerprint("q"))


def test_page_size_defaults_and_cap():
    assert page_size_or_default(0) == DEFAULT_PAGE_SIZE == 100
    assert page_size_or_default(7) == 7
    assert page_size_or_default(10**9) == MAX_PAGE_SIZE == 1000
    with pytest.raises(InvalidArgumentError) as caught:
        page_size_or_default(-1)
    assert caught.value.field == "page_size"

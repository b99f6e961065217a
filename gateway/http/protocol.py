"""The HTTP/1.1 connection: uvicorn's h11 protocol with its edges hardened.

uvicorn (h11) serves the API; :func:`protocol_class` returns the protocol class given
to ``uvicorn.Config(http=...)``. Over uvicorn's own it adds, per connection:

* ``TCP_NODELAY``. asyncio sets it only on sockets whose ``proto`` is ``IPPROTO_TCP``,
  and the listening socket :mod:`gateway.http.server` binds (so port 0 works) has
  ``proto`` 0, so accepted sockets kept Nagle's algorithm: a response written as head
  then body waited for the client's delayed ACK, 40 ms on every keep-alive request.
* A header deadline (slowloris): a request's head must arrive completely within
  ``header_timeout_s`` of its first byte (or of the connection's start); otherwise the
  client gets ``408`` and the connection is closed. uvicorn's ``timeout_keep_alive``
  only covers the idle time between requests, and nothing covered a head sent a byte
  at a time.
* Request smuggling: a request carrying both ``Content-Length`` and
  ``Transfer-Encoding`` is answered ``400`` and the connection closed (RFC 9112 §6.3
  allows either; h11 would let ``Transfer-Encoding`` win and keep the connection, so
  a proxy in front that framed by ``Content-Length`` would disagree on where the next
  request starts).
* One write per answer. uvicorn writes a response's head, its body and its end apart
  (a ``send`` syscall each, and a TLS record each on HTTPS); :class:`_CoalescingTransport`
  holds what a response writes until it is complete and writes it at once. A streamed
  body is not held back: what is held is written at the latest on the loop's next turn.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Default seconds a request's head may take to arrive.
DEFAULT_HEADER_TIMEOUT_S = 5.0
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 39\r\nconnection: close\r\n\r\n"
    b"request headers did not arrive in time\n"
)
_AMBIGUOUS_FRAMING = "request has both Content-Length and Transfer-Encoding; send one of them"


class _StrictConnection(h11.Connection):
    """h11's server connection, refusing requests whose body framing is ambiguous."""

    #: Why the last request was refused here (uvicorn's own 400 says only "invalid").
    refusal = ""

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name.lower() for name, _ in event.headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                self.refusal = _AMBIGUOUS_FRAMING
                raise h11.RemoteProtocolError(_AMBIGUOUS_FRAMING, error_status_hint=400)
        return event


class _CoalescingTransport(asyncio.Transport):
    """The connection's transport, writing each response's head, body and end at once.

    Writes made while the response is in progress (h11's ``SEND_BODY``) are held; the
    next write after it (the end of the message), a close, or the loop's next turn
    (a streamed body, or a body sent after an ``await``) writes them out, in order.
    """

    def __init__(self, transport: asyncio.Transport, protocol: HardenedH11Protocol) -> None:
        super().__init__()
        self._transport = transport
        self._protocol = protocol
        self._held: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._protocol.conn.our_state is h11.SEND_BODY:
            if not self._held:
                self._flush_handle = self._protocol.loop.call_soon(self.flush)
            self._held.append(bytes(data))
            return
        if self._held:
            self._held.append(bytes(data))
            self.flush()
        elif data:
            self._transport.write(data)

    def flush(self) -> None:
        """Write what is held (one ``send``)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()


class HardenedH11Protocol(H11Protocol):
    """See the module docstring; configure through :func:`protocol_class`."""

    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _StrictConnection(h11.SERVER, self.conn._max_incomplete_event_size)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Every request cycle writes through it (uvicorn hands it self.transport).
        self.transport = _CoalescingTransport(transport, self)
        self._arm_head_deadline()  # a connection that never sends a byte is cut too

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            if self._head_deadline is None:
                self._arm_head_deadline()  # the next request on a kept-alive connection
            self._head_started = True
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_deadline()  # the head is complete (or the request refused)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        # The connection is closed after this answer, so the refusal needs no reset.
        refusal = getattr(self.conn, "refusal", "")
        super().send_400_response(f"{refusal}\n" if refusal else msg)

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_started = False
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._head_started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def protocol_class(header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S) -> type[H11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` with this header deadline."""
    return type(
        "HardenedH11Protocol", (HardenedH11Protocol,), {"header_timeout_s": header_timeout_s}
    )

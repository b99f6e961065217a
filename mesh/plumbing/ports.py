"""Listening ports: who holds one, and a per-port lock so only a node's own workers share it.

gRPC turns ``SO_REUSEPORT`` on by default, and a node's ``--workers`` rely on it to share
one port. Without a guard, a second, unrelated node started on the same port would join
in and the kernel would spread answers between two different sets of datasets. So a
process that serves a fixed port first takes :func:`lock_port`: an exclusive ``flock`` on
``<runtime dir>/port-<N>.lock`` holding ``pid N (node de-berlin-1)``. The lock is released
by the kernel when the process dies, so a crash never leaves a stale lock behind; the
workers a node spawns are told it is theirs and skip it.

Every "address in use" becomes one :class:`~mesh.errors.ConfigError` line naming the
setting, the address and, when this user can see it, the owner (:func:`port_in_use`).
The lock is per port, not per address: two addresses on one port would be shared by
``SO_REUSEPORT`` just the same.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.errors import ConfigError

#: Overrides where the port locks live.
RUNTIME_DIR_ENV = "ALLELEMESH_RUNTIME_DIR"


def runtime_dir() -> Path:
    """``$ALLELEMESH_RUNTIME_DIR``, ``$XDG_RUNTIME_DIR/allelemesh`` or ``/tmp/allelemesh-<uid>``."""
    override = os.environ.get(RUNTIME_DIR_ENV)
    if override:
        path = Path(override)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "allelemesh"
    else:
        path = Path(tempfile.gettempdir()) / f"allelemesh-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner = path.stat().st_uid
    except OSError as exc:
        raise ConfigError(
            f"port locks: cannot use {path}: {exc.strerror} (set {RUNTIME_DIR_ENV})"
        ) from None
    if owner != os.getuid():
        # A directory someone else made (in /tmp) could hold their lock files or links.
        raise ConfigError(
            f"port locks: {path} belongs to uid {owner}, not to us; set {RUNTIME_DIR_ENV}"
        )
    return path


def split_listen(setting: str, listen: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT`` to (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{setting}: {listen!r} must be HOST:PORT (IPv6 as [::1]:PORT)")
    return host.strip("[]"), int(port)


@dataclass
class PortLock:
    """A held port lock; :meth:`release` (or process exit) frees it."""

    path: Path
    fd: int

    def release(self) -> None:
        """Let another process take the port."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _lock_path(port: int) -> Path:
    return runtime_dir() / f"port-{port}.lock"


def lock_holder(port: int) -> str | None:
    """``pid N (node ID)`` of another live process holding ``port``'s lock, else None."""
    path = _lock_path(port)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 256).decode("utf-8", "replace").strip()
            # Our own lock (claimed a moment ago, before the bind) is no obstacle.
            return None if holder.startswith(f"pid {os.getpid()} ") else holder or None
        fcntl.flock(fd, fcntl.LOCK_UN)  # nobody holds it: the file is stale
        return None
    finally:
        os.close(fd)


def lock_port(setting: str, listen: str, owner: str) -> PortLock | None:
    """Take ``listen``'s port for this process (``owner`` e.g. ``node de-berlin-1``).

    Port 0 needs no lock (the kernel picks a free port). Raises :class:`ConfigError`
    ``port N is in use by pid M (node X)`` when another live process holds it.
    """
    _, port = split_listen(setting, listen)
    if port == 0:
        return None
    path = _lock_path(port)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ConfigError(f"{setting} {listen}: cannot open the port lock {path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 256).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise ConfigError(f"{setting} {listen}: port {port} is in use by {holder}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} ({owner})".encode())
    return PortLock(path, fd)


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (Linux ``/proc/net/tcp*``; empty elsewhere)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                # local_address is HEXIP:HEXPORT; state 0A is LISTEN
                if (
                    len(fields) > 9
                    and fields[3] == "0A"
                    and int(fields[1].split(":")[1], 16) == port
                ):
                    inodes.add(fields[9])
    return inodes


def _process_of(inodes: set[str]) -> str | None:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    raw = (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip()
                    command = " ".join(raw.decode("utf-8", "replace").split())
                    return f"pid {proc.name} ({command[:80]})"
    return None


def port_owner(port: int) -> str | None:
    """Who listens on ``port``, when this user can tell: an allelemesh lock, else ``/proc``."""
    holder = lock_holder(port)
    if holder is not None:
        return holder
    inodes = _listening_inodes(port)
    return _process_of(inodes) if inodes else None


def port_in_use(setting: str, listen: str, reason: str = "") -> ConfigError:
    """The one-line error for a port that cannot be bound, naming its owner when known."""
    _, port = split_listen(setting, listen)
    owner = port_owner(port) if port else None
    if owner is not None:
        return ConfigError(f"{setting} {listen}: port {port} is in use by {owner}")
    detail = reason or "address in use, or not an address of this machine"
    return ConfigError(f"{setting} {listen}: cannot listen: {detail}")


def check_port_free(setting: str, listen: str) -> None:
    """Raise :func:`port_in_use`'s error unless ``listen`` could be bound right now."""
    host, port = split_listen(setting, listen)
    if port == 0:
        return
    holder = lock_holder(port)
    if holder is not None:
        raise ConfigError(f"{setting} {listen}: port {port} is in use by {holder}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "address in use" if exc.errno == errno.EADDRINUSE else str(exc.strerror)
            raise port_in_use(setting, listen, reason) from None


def reserve_ports(
    setting: str, listen: str, owner: str, others: Sequence[tuple[str, str]] = ()
) -> PortLock | None:
    """Lock ``listen``'s port (:func:`lock_port`) and check ``others`` are free, at start.

    ``others`` are ``(setting, listen)`` of the process's other listeners (an empty
    ``listen``: none). On any problem the lock is released again and the
    :class:`ConfigError` names the setting; else the lock is held for the process's life.
    """
    lock = lock_port(setting, listen, owner)
    try:
        check_port_free(setting, listen)
        for other, address in others:
            if address:
                check_port_free(other, address)
    except ConfigError:
        if lock is not None:
            lock.release()
        raise
    return lock

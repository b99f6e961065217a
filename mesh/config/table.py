"""The TOML reading under every config file: tables that name their keys in errors.

``Table`` wraps one TOML table with the path that names it (``node.toml: [[datasets]][2].id``)
and remembers which keys were read, so ``reject_unknown`` can name a misspelt one; the
``read_*`` functions check one field each. :mod:`mesh.config`, :mod:`mesh.config.http` and
:mod:`mesh.tracing` all parse with these (and import nothing else of each other for it).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from mesh.errors import ConfigError
from mesh.model.genome import Assembly

T = TypeVar("T")

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$")


class Table:
    """A TOML table with the path that names it in error messages."""

    def __init__(self, source: str, path: str, data: Mapping[str, Any]) -> None:
        self.source, self.path, self.data = source, path, data
        self._used: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: {self.path}.{key}" if self.path else f"{self.source}: {key}"

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {problem}", metadata={"key": self.where(key)})

    def get(
        self, key: str, kind: type[T], default: T | None = None, *, required: bool = False
    ) -> T:
        self._used.add(key)
        if key not in self.data:
            if required or default is None:
                raise self.fail(key, "is required" + self._misspelling_of(key))
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def _misspelling_of(self, key: str) -> str:
        """`` (found unknown key 'idd': a misspelling of 'id'?)``, or nothing."""
        unknown = [k for k in self.data if k not in self._used]
        close = difflib.get_close_matches(key, unknown, n=1, cutoff=0.6)
        return f" (found unknown key {close[0]!r}: a misspelling of {key!r}?)" if close else ""

    def optional(self, key: str, kind: type[T]) -> T | None:
        if key not in self.data:
            self._used.add(key)
            return None
        return self.get(key, kind)

    def table(self, key: str) -> Table | None:
        self._used.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return Table(self.source, f"[{key}]" if not self.path else f"{self.path}.{key}", value)

    def tables(self, key: str) -> list[Table]:
        self._used.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be an array of tables ([[" + key + "]])")
        return [Table(self.source, f"[[{key}]][{i}]", v) for i, v in enumerate(value)]

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.fail(unknown[0], "is not a known key (check its spelling)")


def read_identifier(table: Table, key: str) -> str:
    """An id: 1-128 letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit."""
    value = table.get(key, str, required=True)
    if not _ID.match(value):
        raise table.fail(key, f"{value!r} must be 1-128 letters, digits, '.', '_' or '-'")
    return value


def read_country(table: Table, key: str = "country") -> str:
    """An ISO 3166-1 alpha-2 country code."""
    value = table.get(key, str, required=True)
    if not _COUNTRY.match(value):
        raise table.fail(key, f"{value!r} must be an ISO 3166-1 alpha-2 code such as NO or FI")
    return value


def read_address(table: Table, key: str, value: str) -> str:
    """``value`` checked as ``HOST:PORT`` (IPv6 as ``[::1]:PORT``)."""
    if not _ADDRESS.match(value) or not 0 <= int(value.rsplit(":", 1)[1]) <= 65535:
        raise table.fail(key, f"{value!r} must be HOST:PORT (IPv6 as [::1]:PORT)")
    return value


def read_path(table: Table, key: str, base: Path, *, must_exist: bool = True) -> Path:
    """A path, relative to ``base`` (the config file's folder) unless absolute."""
    path = Path(table.get(key, str, required=True)).expanduser()
    if not path.is_absolute():
        path = base / path
    if must_exist and not path.exists():
        raise table.fail(key, f"{path} does not exist")
    return path


def read_assembly(table: Table, key: str, value: str) -> Assembly:
    """``value`` as an :class:`Assembly`, case-insensitively."""
    for assembly in Assembly:
        if value.lower() == assembly.value.lower():
            return assembly
    raise table.fail(key, f"{value!r} must be one of {', '.join(a.value for a in Assembly)}")


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, naming the file and line of a syntax error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (TOML must be UTF-8): {exc}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None

"""The on-disk layout of a dataset index, its metadata and the atomic swap.

``DIR`` (the path operators configure) is a symlink to a version directory::

    <parent>/DIR -> .DIR.versions/<build-id>/
    <parent>/.DIR.versions/<build-id>/data.mdb       LMDB environment (no lock file)
    <parent>/.DIR.versions/<build-id>/ids.mdb        rsID table (nodes.index.variant_ids)
    <parent>/.DIR.versions/<build-id>/dataset.json   metadata (DatasetMetadata)
    <parent>/.DIR.versions/<build-id>/metadata.toml  publishable metadata (optional)
    <parent>/.DIR.versions/tmp-<pid>-<random>/       a build in progress

A build writes into ``tmp-<pid>-<random>``, fsyncs it, renames it to its build id and
swaps the symlink with ``os.replace`` (atomic), so readers see the old or the new
index, never a partial one. The current and the previous version are kept (a
reader may still hold the previous one open); older versions are deleted, and so are
``tmp-<pid>-*`` directories of builders that died (SIGKILL leaves no other trace).

Modes: every directory of the layout is ``0750`` (:data:`DIR_MODE`) and every file
``0640`` (:data:`FILE_MODE`), whatever the builder's umask: set with ``chmod`` as each
is created and again for the whole build directory before it is published. The owner
(the builder) writes; the group (the node's service account) reads; others get
nothing, since an index holds per-population counts below the release thresholds.

:func:`set_publication` gives an index new publishable metadata (the file of
``index build --metadata``) without rebuilding it: a new version whose ``data.mdb`` is a
hard link to the current one's (never written again), so versions stay immutable and
nodes pick the change up like a rebuild.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf import timestamp_pb2

from mesh.errors import ConfigError, IndexBuildError, IndexStoreError
from mesh.fdp import parse_metadata_text, resolve_metadata
from mesh.model.genome import Assembly
from mesh.v1 import catalog_service_pb2
from nodes.index.variant_ids import IDS_FILE

log = logging.getLogger(__name__)

#: 3: compact values (:mod:`nodes.index.records`: labels and field layout once, in ``groups``;
#: counts at their widths, with presence). 2: protobuf values; 1: unknown counts stored
#: as 0. Older versions are refused with a "rebuild it" message.
SCHEMA_VERSION = 3
METADATA_FILE = "dataset.json"
#: The dataset's publishable metadata file, copied verbatim into the version.
PUBLICATION_FILE = "metadata.toml"
DATA_FILE = "data.mdb"
_TMP_PREFIX = "tmp-"
#: Modes of the index's directories and files, independent of the umask.
DIR_MODE = 0o750
FILE_MODE = 0o640


@dataclass
class DatasetMetadata:
    """What ``dataset.json`` says about one built index."""

    id: str
    assembly: Assembly
    title: str = ""
    description: str = ""
    sample_count: int = 0
    populations: list[str] = field(default_factory=list)
    variant_count: int = 0
    source_files: list[str] = field(default_factory=list)
    source_sha256: str = ""
    created_time: str = ""
    info_convention: str = ""
    #: How the counts were read (:meth:`nodes.build.conventions.Detection.to_json`, first file).
    convention: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    #: The ``symbolic`` skips by kind: ``symbolic`` (``<DEL>``...), ``breakend``, ``star``
    #: (``*``), ``non_ref`` (``<NON_REF>``/``<*>`` beside bases), ``reference_block`` (a
    #: gVCF record with only those, counted once), ``no_alt`` (ALT ``.``).
    skipped_alleles: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    #: When the publishable metadata was last set (empty: with the build, or never).
    metadata_time: str = ""
    #: The study the counts come from (``--source``), e.g. "The Genome of Europe".
    source: str = ""
    #: A reference to its documentation (``--source-reference``), e.g. a URL.
    source_reference: str = ""
    #: The tier it was built in (``index build --tier``); empty: not recorded.
    built_tier: str = ""
    #: The index has the rsID table (``ids.mdb``); indexes built before it have not.
    variant_ids: bool = False
    #: Distinct rsIDs in it.
    variant_id_count: int = 0
    #: ``index build --policy``: policy_version, the policy, what it withheld ({}: none).
    disclosure_check: dict[str, Any] = field(default_factory=dict)
    #: The stored value layout: ``""`` (the total), then every population label, in the
    #: order of each value's count groups (see :mod:`nodes.index.records`).
    groups: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_proto(
        self,
        node_id: str,
        country: str,
        publication: catalog_service_pb2.DatasetMetadata | None = None,
        beacon_id: str = "",
    ) -> catalog_service_pb2.Dataset:
        """The catalogue entry (``mesh.v1.Dataset``) of this dataset, served by a node.

        ``publication`` (the metadata file, placeholders unresolved) becomes
        ``metadata``, filled in for this dataset and ``country``; ``beacon_id`` is the
        node's Beacon id.
        """
        created = timestamp_pb2.Timestamp()
        if self.created_time:
            created.FromDatetime(datetime.fromisoformat(self.created_time))
        dataset = catalog_service_pb2.Dataset(
            id=self.id,
            title=self.title,
            description=self.description,
            assembly=self.assembly.to_proto(),
            node_id=node_id,
            country=country,
            sample_count=self.sample_count,
            variant_count=self.variant_count,
            populations=list(self.populations),
            created_time=created,
            source_sha256=self.source_sha256,
            beacon_id=beacon_id,
            source=self.source,
            source_reference=self.source_reference,
        )
        if publication is not None:
            meta = resolve_metadata(publication, self.id, country, str(self.assembly))
            modified = max(self.created_time, self.metadata_time)
            if modified:
                meta.modified_time.FromDatetime(datetime.fromisoformat(modified))
            dataset.metadata.CopyFrom(meta)
        return dataset

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object written to ``dataset.json``."""
        data = asdict(self)
        data["assembly"] = str(self.assembly)
        return data


def read_metadata(path: Path | str) -> DatasetMetadata:
    """Read ``dataset.json`` of an index directory (or of the version it links to)."""
    file = Path(path) / METADATA_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"index {path}: cannot read {METADATA_FILE}: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        found = data.get("schema_version") if isinstance(data, dict) else None
        advice = ""
        if isinstance(found, int) and found < SCHEMA_VERSION:
            advice = (
                "; it was built by an older allelemesh (values in an older layout): rebuild "
                "it with `allelemesh index build`"
            )
        raise IndexStoreError(
            f"index {path}: {METADATA_FILE} has schema_version {found!r}, "
            f"expected {SCHEMA_VERSION}{advice}"
        )
    try:
        known = {k: v for k, v in data.items() if k in DatasetMetadata.__dataclass_fields__}
        known["assembly"] = Assembly(data["assembly"])
        return DatasetMetadata(**known)
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexStoreError(f"index {path}: {METADATA_FILE} is invalid: {exc}") from exc


def write_metadata(directory: Path, metadata: DatasetMetadata) -> None:
    """Write and fsync ``dataset.json``."""
    text = json.dumps(metadata.to_json(), indent=2, sort_keys=True) + "\n"
    file = directory / METADATA_FILE
    with file.open("w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def read_publication_file(path: Path) -> tuple[str, catalog_service_pb2.DatasetMetadata]:
    """Read and check a metadata file; return its text and what it says."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the metadata file: {exc}") from None
    return text, parse_metadata_text(text, str(path))


def read_publication(path: Path | str) -> catalog_service_pb2.DatasetMetadata | None:
    """The publishable metadata of an index (None when it has none)."""
    file = Path(path) / PUBLICATION_FILE
    if not file.exists():
        return None
    try:
        return read_publication_file(file)[1]
    except ConfigError as exc:
        raise IndexStoreError(f"index {path}: {exc.message}") from exc


def set_publication(out: Path, source: Path) -> Path:
    """Publish ``source`` as the metadata file of index ``out``; return the new version."""
    text, _ = read_publication_file(source)  # check before touching anything
    current = check_target(out)
    if current is None:
        raise IndexBuildError(f"{out} is not an index (build it first)")
    metadata = read_metadata(current)
    tmp = start_build(out)
    try:
        for name in (DATA_FILE, IDS_FILE):
            if not (current / name).exists():
                continue  # an index built before the rsID table
            try:
                os.link(current / name, tmp / name)
            except OSError:  # a filesystem without hard links: copy (the data never changes)
                shutil.copy2(current / name, tmp / name)
        metadata.metadata_time = utc_now()
        write_metadata(tmp, metadata)
        write_publication(tmp, text)
        version = publish(tmp, out, current)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Same data, same tier history (nodes.build.promotion): the record follows the new version.
    record = current.parent / f"{current.name}.tiers.json"
    if record.exists():
        shutil.copy2(record, version.parent / f"{version.name}.tiers.json")
    return version


def write_publication(directory: Path, text: str) -> None:
    """Write and fsync the metadata file of a version being built."""
    with (directory / PUBLICATION_FILE).open("w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def utc_now() -> str:
    """The current time, ISO-8601 UTC with a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def versions_dir(out: Path) -> Path:
    """The hidden sibling directory holding every version of ``out``."""
    return out.parent / f".{out.name}.versions"


def check_target(out: Path) -> Path | None:
    """Return the version ``out`` currently links to, or raise if ``out`` is not ours."""
    if not out.is_symlink():
        if out.exists():
            raise IndexBuildError(
                f"{out} exists and is not an index made by 'allelemesh index build' "
                "(expected a symlink into its .versions directory); refusing to replace it"
            )
        return None
    target = Path(os.readlink(out))
    resolved = (out.parent / target).resolve()
    if resolved.parent != versions_dir(out).resolve():
        raise IndexBuildError(
            f"{out} is a symlink to {target}, not into {versions_dir(out).name}; "
            "refusing to replace it"
        )
    return resolved


def start_build(out: Path) -> Path:
    """Clean up after dead builders and return a fresh temporary build directory."""
    versions = versions_dir(out)
    versions.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(versions, DIR_MODE)  # mkdir's mode is masked by the umask
    remove_stale_tmp(versions)
    tmp = versions / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(mode=DIR_MODE)
    os.chmod(tmp, DIR_MODE)
    return tmp


def restrict_modes(directory: Path) -> None:
    """``DIR_MODE`` for ``directory`` and the directories in it, ``FILE_MODE`` for its files."""
    os.chmod(directory, DIR_MODE)
    for entry in directory.rglob("*"):
        if not entry.is_symlink():
            os.chmod(entry, DIR_MODE if entry.is_dir() else FILE_MODE)


def remove_stale_tmp(versions: Path) -> list[Path]:
    """Delete ``tmp-<pid>-*`` directories whose builder process is gone."""
    removed = []
    for entry in versions.iterdir():
        if not entry.name.startswith(_TMP_PREFIX):
            continue
        try:
            pid = int(entry.name[len(_TMP_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    if removed:
        log.info("removed %d stale temporary build directories", len(removed))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def new_build_id() -> str:
    """A sortable, unique version directory name."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (renames, new files) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, out: Path, previous: Path | None) -> Path:
    """Turn a finished build directory into the current version of ``out``; return it."""
    versions = versions_dir(out)
    restrict_modes(tmp)  # LMDB creates data.mdb with the umask's say
    for entry in tmp.iterdir():
        if entry.is_file():
            with entry.open("rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(tmp)
    final = versions / new_build_id()
    tmp.rename(final)
    fsync_dir(versions)
    link = out.parent / f".{out.name}.link-{os.getpid()}-{secrets.token_hex(3)}"
    os.symlink(os.path.join(versions.name, final.name), link)
    try:
        os.replace(link, out)
    except OSError:
        link.unlink(missing_ok=True)
        raise
    fsync_dir(out.parent)
    prune(versions, keep={final.name, previous.name if previous else ""})
    return final


def prune_old_versions(out: Path, keep: int) -> tuple[list[str], list[str]]:
    """Delete all but the ``keep`` newest versions of ``out``; never the one it links to.

    Returns the names kept and removed. ``keep`` counts the served version.
    """
    if keep < 1:
        raise IndexBuildError("--keep must be at least 1: the version being served is kept")
    current = check_target(out)
    if current is None:
        raise IndexBuildError(f"{out} is not an index directory (no such symlink)")
    versions = versions_dir(out)
    finished = sorted(
        (e.name for e in versions.iterdir() if e.is_dir() and not e.name.startswith(_TMP_PREFIX)),
        reverse=True,  # build ids sort by time: newest first
    )
    kept = {current.name, *finished[:keep]}
    if len(kept) > keep:  # the served version is older than the newest ``keep``
        kept = {current.name, *finished[: keep - 1]}
    removed = [name for name in finished if name not in kept]
    prune(versions, kept)
    return [name for name in finished if name in kept], removed


def prune(versions: Path, keep: set[str]) -> None:
    """Delete every finished version except those in ``keep``."""
    for entry in versions.iterdir():
        if entry.name in keep or entry.name.startswith(_TMP_PREFIX) or not entry.is_dir():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        # Its tier record (nodes.build.promotion) goes with it.
        (versions / f"{entry.name}.tiers.json").unlink(missing_ok=True)
        log.info("removed old index version %s", entry.name)

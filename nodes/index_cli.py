"""``allelemesh index build``, ``info``, ``prune``, ``metadata`` and ``promote``.

``add_index_commands(subparsers)`` registers the ``index`` command group; each
subcommand sets ``handler(args) -> int`` (the exit status) as its default. The handlers
turn options into calls of the builder, index directory, metadata check and promotion
modules, and print what those return.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mesh.config.tiers import validate_tier
from mesh.errors import ConfigError, IndexBuildError, IndexStoreError
from mesh.fdp import SHAPES_ENV
from mesh.model.genome import Assembly
from nodes.build.vcf_counts import SUBSETS

if TYPE_CHECKING:
    from nodes.serve.disclosure_tally import DisclosureTally


def _add_subset(parser: argparse.ArgumentParser) -> None:
    """``--subset``: one count set of a gnomAD v4 joint file (build and preview alike)."""
    parser.add_argument(
        "--subset",
        default="",
        choices=["", *SUBSETS],
        help="the count set of a gnomAD v4 joint file (default: joint when present)",
    )


def add_index_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``index`` command group under a CLI's subparsers."""
    index = subparsers.add_parser("index", help="build and inspect dataset indexes")
    commands = index.add_subparsers(dest="index_command", required=True)

    build = commands.add_parser("build", help="build a dataset index from VCF/BCF files")
    build.add_argument("vcf", nargs="+", type=Path, help="VCF/BCF files (plain or bgzipped)")
    build.add_argument("--dataset", required=True, help="dataset id")
    build.add_argument(
        "--assembly", default="GRCh38", choices=[a.value for a in Assembly], help="assembly"
    )
    build.add_argument("--out", required=True, type=Path, help="index directory (a symlink)")
    build.add_argument("--title", default="")
    build.add_argument("--description", default="")
    build.add_argument(
        "--source",
        default="",
        help='the study the counts come from, e.g. "The Genome of Europe" (Beacon source)',
    )
    build.add_argument(
        "--source-reference",
        default="",
        help="a reference to the study's documentation, e.g. a URL (Beacon sourceReference)",
    )
    build.add_argument("--samples", type=Path, help="TSV: sample, population, sex")
    build.add_argument("--reference", type=Path, help="FASTA for left-aligning indels")
    build.add_argument("--jobs", type=int, default=1, help="worker processes")
    build.add_argument("--info-map", type=Path, help="TOML mapping INFO keys to counts")
    build.add_argument("--on-error", choices=["fail", "skip"], default="fail")
    _add_subset(build)
    build.add_argument(
        "--metadata", type=Path, help="the dataset's publishable metadata (TOML, see samples/)"
    )
    build.add_argument(
        "--tier", default="", help="the tier this build is for, e.g. staging (recorded)"
    )
    _policy_arguments(build)
    build.set_defaults(handler=_build)

    preview = commands.add_parser(
        "preview",
        help="show what a build of these files would yield, writing nothing",
        description="Reads the header and the first records of each file (every record "
        "with --all) as `index build` would, and shows how they are read, what they count, "
        "the first problems and, with --policy, what the node would withhold. Writes nothing.",
    )
    preview.add_argument("vcf", nargs="+", type=Path, help="VCF/BCF files (plain or bgzipped)")
    preview.add_argument(
        "--assembly", default="GRCh38", choices=[a.value for a in Assembly], help="assembly"
    )
    preview.add_argument("--info-map", type=Path, help="TOML mapping INFO keys to counts")
    preview.add_argument("--samples", type=Path, help="TSV: sample, population, sex")
    preview.add_argument("--reference", type=Path, help="FASTA (with .fai) for left-aligning")
    _add_subset(preview)
    preview.add_argument("--all", action="store_true", help="read every record, not a sample")
    preview.add_argument("--json", action="store_true", help="print JSON (see the README)")
    _policy_arguments(preview)
    preview.set_defaults(handler=_preview)

    prune = commands.add_parser(
        "prune",
        help="delete old versions of an index (never the one being served)",
        description="Keep the N newest versions of DIR (the one DIR links to, i.e. the one "
        "nodes serve, always among them) and delete the others.",
    )
    prune.add_argument("dir", type=Path, help="index directory (the symlink)")
    prune.add_argument("--keep", type=int, default=2, help="versions to keep (default 2)")
    prune.set_defaults(handler=_prune)

    meta = commands.add_parser(
        "metadata", help="set or check an index's publishable (FAIR Data Point) metadata"
    )
    meta.add_argument("dir", type=Path, help="index directory")
    action = meta.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--set-from", type=Path, metavar="FILE", help="publish FILE as the metadata (no rebuild)"
    )
    action.add_argument(
        "--check", action="store_true", help="validate against the GDI shapes; exit 1 if not"
    )
    meta.add_argument(
        "--country", default="", help="the serving node's country (ISO alpha-2), for --check"
    )
    meta.add_argument("--shapes", type=Path, help=f"the GDI shapes folder (default: ${SHAPES_ENV})")
    meta.set_defaults(handler=_metadata)

    info = commands.add_parser("info", help="show an index's metadata")
    info.add_argument("dir", type=Path, help="index directory")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_info)

    promote = commands.add_parser(
        "promote",
        help="record that an index now serves another tier (no rebuild)",
        description="Writes .DIR.versions/<build-id>.tiers.json beside the immutable index.",
    )
    promote.add_argument("dir", type=Path, help="index directory")
    promote.add_argument("--to-tier", required=True, help="e.g. production")
    promote.set_defaults(handler=_promote)


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        type=Path,
        help="the dataset's privacy settings: a node.toml or a file of one dataset's keys",
    )
    parser.add_argument(
        "--policy-dataset", metavar="ID", help="which [[datasets]] entry of --policy (if several)"
    )


def _check(args: argparse.Namespace) -> DisclosureTally | None:
    """The disclosure tally of ``--policy`` (the serving rule), or ``None``."""
    from mesh.config.datasets import load_dataset_policy
    from nodes.serve.disclosure_tally import DisclosureTally
    from nodes.serve.policy import policy_from_config

    if args.policy is None:
        return None
    config = load_dataset_policy(args.policy, args.policy_dataset)
    return DisclosureTally(policy_from_config(config).privacy)


def _preview(args: argparse.Namespace) -> int:
    from nodes.build.preview import PreviewOptions, preview

    try:
        options = PreviewOptions(
            inputs=args.vcf,
            assembly=Assembly(args.assembly),
            info_map=args.info_map,
            samples=args.samples,
            reference=args.reference,
            check=_check(args),
            all_records=args.all,
            subset=args.subset,
        )
        summary = preview(options)
    except (ConfigError, IndexBuildError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print("\n".join(summary.lines()))
    return 0


def _prune(args: argparse.Namespace) -> int:
    from nodes.index.index_dir import check_target, prune_old_versions

    try:
        kept, removed = prune_old_versions(args.dir, args.keep)
    except IndexBuildError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    served = check_target(args.dir)
    names = [f"{k} (served)" if served is not None and k == served.name else k for k in kept]
    print(f"kept {len(kept)}: {', '.join(names)}")
    print(f"removed {len(removed)}: {', '.join(removed) if removed else 'none'}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from nodes.build.builder import BuildOptions, build_index

    options = BuildOptions(
        inputs=args.vcf,
        dataset_id=args.dataset,
        out=args.out,
        assembly=Assembly(args.assembly),
        title=args.title,
        description=args.description,
        source=args.source,
        source_reference=args.source_reference,
        samples=args.samples,
        reference=args.reference,
        jobs=args.jobs,
        info_map=args.info_map,
        on_error=args.on_error,
        metadata=args.metadata,
        tier=validate_tier(args.tier, "index build: --tier") if args.tier else "",
        subset=args.subset,
    )
    try:
        options.check = _check(args)
        report = build_index(options)
    except (ConfigError, IndexBuildError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if report.summary is not None:
        print("\n".join(report.summary.lines()))
    skipped = ", ".join(f"{n} {what}" for what, n in report.skipped.items() if n) or "none"
    print(
        f"built {report.out} ({report.variant_count} variants from {report.records} records "
        f"in {report.seconds:.1f} s, {report.alleles_per_second:.0f} alleles/s; "
        f"skipped: {skipped})"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from nodes.build.promotion import current_tier, tier_record
    from nodes.index.index_dir import read_metadata

    try:
        metadata = read_metadata(args.dir)
    except IndexStoreError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    data = metadata.to_json()
    record = tier_record(args.dir)
    data["tier"] = current_tier(record) or "unrecorded"
    data["promotions"] = record["promotions"]
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    from rich.table import Table

    from mesh.cli.tables import print_table

    table = Table(title=f"dataset {metadata.id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        text = ", ".join(map(str, value)) if isinstance(value, list) else value
        if isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        if key == "convention" and value:
            text = f"{value['name']}: " + "; ".join(value["reasons"])
        if key == "disclosure_check":
            text = _disclosure_check_text(value)
        if key == "promotions":
            text = "; ".join(
                f"{p['from_tier']} -> {p['tier']} at {p['promoted_at']}" for p in value
            )
        table.add_row(key, str(text))
    print_table(table)
    return 0


def _disclosure_check_text(check: dict[str, object]) -> str:
    """``policy version 2: min_individuals=5, ...`` or that the index was not checked."""
    if not check:
        return "not checked (index build --policy records it)"
    policy = check.get("policy")
    rules = ", ".join(f"{k}={v}" for k, v in policy.items()) if isinstance(policy, dict) else ""
    return f"policy version {check.get('policy_version')}: {rules}"


def _metadata(args: argparse.Namespace) -> int:
    from nodes.build.metadata_check import check_index_metadata

    if args.set_from is not None:
        from nodes.index.index_dir import set_publication

        try:
            version = set_publication(args.dir.absolute(), args.set_from)
        except (ConfigError, IndexBuildError, IndexStoreError) as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"metadata of {args.dir} set from {args.set_from} (version {version.name})")
        return 0
    shapes = args.shapes or (Path(os.environ[SHAPES_ENV]) if os.environ.get(SHAPES_ENV) else None)
    if shapes is None:
        print(
            f"error: --check needs the GDI shapes: pass --shapes DIR or set {SHAPES_ENV} "
            "(the shapes folder of the gdi-metadata repository)",
            file=sys.stderr,
        )
        return 2
    if not args.country:
        print("error: --check needs --country CC (the serving node's country)", file=sys.stderr)
        return 2
    try:
        problems = check_index_metadata(args.dir, args.country, shapes)
    except (ConfigError, IndexStoreError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if not problems:
        print(f"{args.dir}: the metadata conforms to the GDI shapes")
        return 0
    print(f"{args.dir}: {len(problems)} problem(s); not publishable in the FAIR Data Point:")
    for problem in problems:
        print(f"  {problem}")
    return 1


def _promote(args: argparse.Namespace) -> int:
    from nodes.build.promotion import promote

    try:
        record = promote(args.dir, args.to_tier)
    except IndexStoreError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    last = record["promotions"][-1]
    print(
        f"promoted {args.dir} (build {record['build_id']}) from {last['from_tier']} "
        f"to {last['tier']} at {last['promoted_at']}"
    )
    return 0

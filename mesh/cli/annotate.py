"""``allelemesh annotate``: a whole VCF annotated with frequencies from across the mesh."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pysam

from mesh.cli.client_options import add_connection_arguments, client_channel, client_tls
from mesh.errors import ConfigError, InvalidArgumentError
from mesh.model.genome import Assembly

if TYPE_CHECKING:
    from rich.console import Console

    from mesh.annotate import AnnotateOptions, Summary


def add_annotate_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``annotate``."""
    from mesh.annotate import DEFAULT_FIELDS, POOLED

    cmd = subparsers.add_parser(
        "annotate",
        help="annotate a VCF with allele frequencies from every country of the mesh",
        description="Writes the input back, records and order unchanged, with Number=A INFO "
        "fields per country (or dataset) and pooled over the mesh: AF_NO, AC_NO, AN_NO, ..., "
        f"AF_{POOLED}. Unknown counts, and a node that failed, are '.'. Every queried variant "
        "reaches every country node of the mesh.",
    )
    cmd.add_argument("input", metavar="IN.vcf[.gz]|-", help="VCF/BCF to annotate ('-': stdin)")
    cmd.add_argument("--target", required=True, help="HOST:PORT of a gateway (or a node)")
    cmd.add_argument("-o", "--output", type=Path, help="output (default stdout); .gz: bgzip+tabix")
    cmd.add_argument("--fields", default=",".join(DEFAULT_FIELDS), help="AF,AC,AN,HOM,HET,HEMI")
    cmd.add_argument("--by", choices=("country", "dataset"), default="country")
    cmd.add_argument(
        "--populations", default="", help="comma-separated labels: also <FIELD>_<GROUP>_<POP>"
    )
    cmd.add_argument("--dataset", action="append", default=[], help="restrict to a dataset")
    cmd.add_argument("--assembly", default="GRCh38", choices=[a.value for a in Assembly])
    cmd.add_argument("--tsv", action="store_true", help="a TSV, one line per ALT, instead")
    cmd.add_argument("--batch-size", type=int, default=1000, help="variants per call (1000)")
    cmd.add_argument("--in-flight", type=int, default=4, help="calls outstanding at once (4)")
    cmd.add_argument("--timeout", type=float, default=60.0, help="seconds per call (default 60)")
    add_connection_arguments(cmd)
    cmd.set_defaults(handler=run_annotate)


def _options(args: argparse.Namespace) -> AnnotateOptions:
    from mesh.annotate import AnnotateOptions, parse_fields

    if args.batch_size < 1 or args.in_flight < 1:
        raise InvalidArgumentError("--batch-size", "--batch-size and --in-flight must be >= 1")
    populations = tuple(p.strip() for p in args.populations.split(",") if p.strip())
    return AnnotateOptions(
        assembly=Assembly(args.assembly),
        fields=parse_fields(args.fields),
        by=args.by,
        populations=populations,
        datasets=tuple(args.dataset),
        out=args.output,
        tsv=args.tsv,
        batch_size=args.batch_size,
        in_flight=args.in_flight,
        timeout_s=args.timeout,
    )


def run_annotate(args: argparse.Namespace) -> int:
    """Annotate; print the summary on stderr. Exit 1 if a whole call failed."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mesh.annotate import Annotator, catalog_groups

    options = _options(args)
    if options.out is None and not options.tsv and sys.stdout.isatty():
        raise ConfigError("annotate: give -o OUT.vcf.gz (a VCF is not written to a terminal)")
    try:
        source = pysam.VariantFile(args.input)
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError("input", f"cannot read {args.input} as VCF/BCF: {exc}") from None
    console = Console(stderr=True)
    channel = client_channel(args, client_tls(args, "annotate"))
    try:
        groups = catalog_groups(channel, options)
        with Progress(
            TextColumn("annotating"),
            BarColumn(bar_width=None),
            TextColumn("{task.completed:,} records"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("annotate", total=None)
            summary = Annotator(
                source,
                channel,
                options,
                groups=groups,
                progress=lambda n: bar.advance(task, n),
            ).run()
    finally:
        channel.close()
        source.close()
    print_summary(summary, console)
    return 1 if summary.failed_batches else 0


def print_summary(summary: Summary, console: Console) -> None:
    """Variants, found, and per node how its calls went."""
    console.print(
        f"{summary.records:,} records, {summary.alleles:,} ALT alleles: {summary.queried:,} "
        f"queried in {summary.batches:,} calls, {summary.found:,} found, "
        f"{summary.not_queried:,} not queryable (symbolic or outside the assembly)",
        highlight=False,
    )
    for node_id, tally in sorted(summary.nodes.items()):
        state = (
            "ok" if not tally.failed else f"FAILED in {tally.failed:,} calls ({tally.last_error})"
        )
        console.print(
            f"  {node_id} ({tally.country}): answered {tally.answered:,} calls, {state}",
            highlight=False,
        )
    if summary.failed_batches:
        console.print(
            f"  {summary.failed_batches:,} calls failed entirely (their fields are '.'): "
            + "; ".join(summary.batch_errors[:3]),
            highlight=False,
        )

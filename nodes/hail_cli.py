"""``allelemesh hail export``: a country-sized callset to per-chromosome sites VCFs (Hail).

Needs the ``hail`` extra (``pip install 'allelemesh[hail]'``) and Java; without them the
command says so and exits 2. The pipeline is :mod:`nodes.build.hail_export`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mesh.model.genome import Assembly


def add_hail_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``hail export``."""
    hail = subparsers.add_parser("hail", help="aggregate big callsets with Hail (optional extra)")
    commands = hail.add_subparsers(dest="hail_command", required=True)
    export = commands.add_parser(
        "export",
        help="genotypes (VCF/BCF or a Hail MatrixTable) to per-chromosome sites VCFs",
        description="Counts AC/AN/hom/het/hemi per allele for the total and each population "
        "and sex of the samples file, exactly as `index build --samples` does, on Spark; "
        "writes DIR/<chromosome>.vcf.bgz (+ .tbi) for `allelemesh index build DIR/*.vcf.bgz`.",
    )
    export.add_argument(
        "--input", action="append", required=True, metavar="VCF_OR_MT",
        help="genotype VCF/BCF (repeatable) or one Hail MatrixTable (.mt)",
    )  # fmt: skip
    export.add_argument("--samples", type=Path, required=True, help="TSV: sample, population, sex")
    export.add_argument("--out", type=Path, required=True, help="directory for the sites VCFs")
    export.add_argument("--assembly", default="GRCh38", choices=[a.value for a in Assembly])
    export.add_argument(
        "--populations", default="", help="comma-separated populations to report (default all)"
    )
    export.add_argument(
        "--spark-master", help="Spark master URL (default: Hail's configuration, else local)"
    )
    export.add_argument(
        "--cores", type=int, default=2, help="cores in local mode (default 2; ignored on a cluster)"
    )
    export.add_argument("--tmp-dir", type=Path, help="Hail's temporary directory (default DIR)")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from nodes.build.hail_export import ExportOptions, export

    written = export(
        ExportOptions(
            inputs=args.input,
            samples=args.samples,
            out=args.out,
            assembly=Assembly(args.assembly),
            populations=tuple(p for p in args.populations.split(",") if p),
            spark_master=args.spark_master,
            local_cores=args.cores,
            tmp_dir=args.tmp_dir,
        )
    )
    for path in written:
        print(path)
    return 0

"""``allelemesh query``: look a variant, a region or a gene up at a node or a gateway.

A gene (``PCSK9``, ``narc1``) goes to the gateway's ``GeneService``: the gateway
resolves it and searches its span; every page is followed, and the answer starts with
how the symbol was resolved.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import json_format
from rich.table import Table

from mesh.cli.client_options import add_connection_arguments, client_channel, client_tls
from mesh.cli.tables import print_table
from mesh.config import TlsConfig
from mesh.errors import (
    InvalidArgumentError,
    MeshError,
    UnavailableError,
    code_name,
    error_from_status,
    rich_status,
    status_of,
)
from mesh.model.genes import looks_like_gene
from mesh.model.genome import Assembly
from mesh.model.notation import parse_variant_or_region
from mesh.model.reference import FastaReference
from mesh.model.variant_ids import is_variant_id, parse_variant_id
from mesh.model.variants import RegionKey, VariantKey
from mesh.security.tls_diagnosis import diagnose
from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    gene_service_pb2,
    gene_service_pb2_grpc,
)

_SCOPES = {"local": allele_pb2.SCOPE_LOCAL, "mesh": allele_pb2.SCOPE_MESH}


def add_query_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``query``."""
    query = subparsers.add_parser(
        "query",
        help="look up a variant (or a region) at a node or gateway",
        description="VARIANT in any accepted notation: 1-55051215-G-GA, chr1:55051215:G:GA, "
        "'1:55051215 G>GA', SPDI NC_000001.11:55051214:G:GA, HGVS NC_000001.11:g.55051215G>A "
        "or an HGVS genomic indel (with --reference); a region such as 1:55051000-55052000; "
        "a dbSNP rsID (rs11591147): every variant the datasets record under it; or a gene "
        "symbol such as PCSK9 (at a gateway: it resolves the gene to its span).",
    )
    query.add_argument("variant", metavar="VARIANT", help="variant, region or gene symbol")
    query.add_argument("--target", required=True, help="HOST:PORT of a node or gateway")
    query.add_argument("--assembly", default="GRCh38", choices=[a.value for a in Assembly])
    query.add_argument("--dataset", action="append", default=[], help="restrict to a dataset")
    query.add_argument("--population", action="append", default=[], help="restrict populations")
    query.add_argument(
        "--scope",
        choices=sorted(_SCOPES),
        default="local",
        help="at a node: local datasets only, or the whole mesh",
    )
    query.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    query.add_argument(
        "--reference",
        type=Path,
        help="reference FASTA of --assembly: translates HGVS indels (g.del, ins, dup, delins)",
    )
    query.add_argument("--json", action="store_true", help="print the response as JSON")
    add_connection_arguments(query)
    query.set_defaults(handler=run_query)


def run_query(args: argparse.Namespace) -> int:
    """Send the lookup and print the answer."""
    assembly = Assembly(args.assembly)
    scope = _SCOPES[args.scope]
    if is_variant_id(args.variant):
        return _query_variant_id(args, assembly, scope)
    reference = FastaReference(args.reference, assembly) if args.reference else None
    try:
        key = parse_variant_or_region(args.variant, assembly, field="VARIANT", reference=reference)
    except InvalidArgumentError:
        if not looks_like_gene(args.variant):
            raise
        return run_gene_query(args, assembly)
    finally:
        if reference is not None:
            reference.close()
    variant = key if isinstance(key, VariantKey) else None
    region = key if isinstance(key, RegionKey) else None
    tls = client_tls(args, "query")
    channel = client_channel(args, tls)
    stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
    try:
        if variant is not None:
            response: Any = stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(
                    assembly=assembly.to_proto(),
                    variant=allele_pb2.Variant(
                        chromosome=variant.chromosome,
                        position=variant.position,
                        reference_bases=variant.ref,
                        alternate_bases=variant.alt,
                    ),
                    dataset_ids=args.dataset,
                    populations=args.population,
                    scope=scope,
                ),
                timeout=args.timeout,
            )
        else:
            assert region is not None
            response = stub.SearchRegion(
                allele_service_pb2.SearchRegionRequest(
                    assembly=assembly.to_proto(),
                    region=allele_pb2.Region(
                        chromosome=region.chromosome, start=region.start, end=region.end
                    ),
                    dataset_ids=args.dataset,
                    page_size=1000,
                    scope=scope,
                ),
                timeout=args.timeout,
            )
    except grpc.RpcError as error:
        raise _answer_error(args, tls, error) from None
    finally:
        channel.close()
    if args.json:
        print(
            json.dumps(
                json_format.MessageToDict(response, preserving_proto_field_name=True), indent=2
            )
        )
    else:
        print_frequencies(response, sys.stdout)
    return 0


def _query_variant_id(args: argparse.Namespace, assembly: Assembly, scope: int) -> int:
    """``query rs11591147``: every variant the rsID names (``LookupVariantId``)."""
    request = allele_service_pb2.LookupVariantIdRequest(
        assembly=assembly.to_proto(),
        variant_id=parse_variant_id(args.variant, "VARIANT"),
        dataset_ids=args.dataset,
        populations=args.population,
        scope=scope,  # type: ignore[arg-type]
    )
    tls = client_tls(args, "query")
    channel = client_channel(args, tls)
    try:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        response = stub.LookupVariantId(request, timeout=args.timeout)
    except grpc.RpcError as error:
        raise _answer_error(args, tls, error) from None
    finally:
        channel.close()
    if args.json:
        as_dict = json_format.MessageToDict(response, preserving_proto_field_name=True)
        print(json.dumps(as_dict, indent=2))
    else:
        print_variant_id(response, sys.stdout)
    return 0


#: Most pages of a gene followed by ``query`` (1000 variants each).
MAX_GENE_PAGES = 100


def run_gene_query(args: argparse.Namespace, assembly: Assembly) -> int:
    """Search a gene at a gateway, following every page, and print the answer."""
    tls = client_tls(args, "query")
    channel = client_channel(args, tls)
    stub = gene_service_pb2_grpc.GeneServiceStub(channel)
    answer = gene_service_pb2.SearchGeneResponse()
    outcomes: dict[str, allele_pb2.NodeOutcome] = {}
    token = ""
    try:
        for _ in range(MAX_GENE_PAGES):
            request = gene_service_pb2.SearchGeneRequest(
                assembly=assembly.to_proto(),
                gene=args.variant,
                dataset_ids=args.dataset,
                page_size=1000,
                page_token=token,
            )
            page = stub.SearchGene(request, timeout=args.timeout)
            answer.gene.CopyFrom(page.gene)
            answer.variants.extend(page.variants)
            for o in page.outcomes:  # one per node; a failure on any page is kept
                if o.node_id not in outcomes or o.status.code != 0:
                    outcomes[o.node_id] = o
            token = answer.next_page_token = page.next_page_token
            if not token:
                break
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNIMPLEMENTED:  # type: ignore[attr-defined]
            raise InvalidArgumentError(
                "VARIANT",
                f"{args.target} does not search genes (a node sees regions): ask a gateway, "
                f"or give the gene's region ({args.variant} is not a variant or a region)",
                reason="GENE_NEEDS_GATEWAY",
            ) from None
        raise _answer_error(args, tls, error) from None
    finally:
        channel.close()
    answer.outcomes.extend(outcomes.values())
    if args.json:
        document = json_format.MessageToDict(answer, preserving_proto_field_name=True)
        print(json.dumps(document, indent=2))
    else:
        print_gene(answer, sys.stdout)
    return 0


def _answer_error(
    args: argparse.Namespace, tls: TlsConfig | None, error: grpc.RpcError
) -> MeshError:
    """The error a failed call stands for: the server's own (by its code), or why none answered."""
    status = rich_status(error)
    code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
    if code == grpc.StatusCode.UNAVAILABLE and status is None:
        # No server answered: say why the connection failed, not "it answered".
        why = diagnose(args.target, tls, ca_only=() if args.insecure else tuple(args.ca))
        return UnavailableError(f"cannot reach {args.target}: {why}")
    status = status or status_of(error)
    status.message = str(error.details())
    # Bad input is the user's to fix: the server's words alone (they name the field).
    prefix = (
        "" if code == grpc.StatusCode.INVALID_ARGUMENT else f"{args.target} answered {code.name}: "
    )
    return error_from_status(status, prefix=prefix)


#: What a count the dataset did not give shows as (unknown, not 0).
UNKNOWN = "."


def _af(counts: allele_pb2.AlleleCounts) -> str:
    if counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED:
        return "suppressed"
    if not counts.HasField("allele_frequency"):
        return UNKNOWN
    return f"{counts.allele_frequency:.6g}"


def _count_cells(counts: allele_pb2.AlleleCounts) -> list[str]:
    mark = "~" if counts.precision == allele_pb2.COUNT_PRECISION_ROUNDED else ""
    if counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED:
        return ["—"] * 5 + ["suppressed"]

    def cell(name: str) -> str:
        present = counts.HasField(name)  # type: ignore[arg-type]
        return f"{mark}{getattr(counts, name)}" if present else UNKNOWN

    return [
        cell("allele_count"),
        cell("allele_number"),
        _af(counts),
        cell("homozygous_count"),
        cell("heterozygous_count"),
        cell("hemizygous_count"),
    ]


def print_gene(response: gene_service_pb2.SearchGeneResponse, out: TextIO) -> None:
    """The resolution, one row per variant (per-country and pooled AF), node outcomes."""
    gene = response.gene
    out.write(f"Gene {gene.symbol}: {gene.resolution}\n")
    if response.next_page_token:
        out.write(f"(first {len(response.variants)} variants only)\n")
    countries = sorted({c.country for v in response.variants for c in v.countries})
    table = Table(title=f"Variants in {gene.symbol}")
    table.add_column("variant")
    for column in (*(f"AF {c}" for c in countries), "AC", "AN", "AF pooled"):
        table.add_column(column, justify="right")
    for item in response.variants:
        v = item.variant
        by_country = {c.country: c.counts for c in item.countries}
        cells = [_af(by_country[c]) if c in by_country else "" for c in countries]
        pooled = _count_cells(item.pooled)
        name = f"{v.chromosome}-{v.position}-{v.reference_bases}-{v.alternate_bases}"
        table.add_row(name, *cells, pooled[0], pooled[1], pooled[2])
    print_table(table, out)
    _print_outcomes(response.outcomes, out)


def print_frequencies(response: Any, out: TextIO) -> None:
    """Print frequencies, the pooled row (if any) and every node's outcome as tables."""
    _print_frequency_table(response, out, "Allele frequencies")
    _print_outcomes(response.outcomes, out)


def print_variant_id(response: allele_service_pb2.LookupVariantIdResponse, out: TextIO) -> None:
    """Print one table per variant the rsID names (labelled), then the node outcomes."""
    rsid = response.variant_id
    names = [_name(r.variant) for r in response.results]
    if not names:
        print(f"{rsid}: no dataset of the nodes that answered records it", file=out)
    else:
        plural = "s" if len(names) > 1 else ""
        print(f"{rsid} names {len(names)} variant{plural}: {', '.join(names)}", file=out)
    for result, name in zip(response.results, names, strict=True):
        _print_frequency_table(result, out, f"{rsid} → {name}")
    _print_outcomes(response.outcomes, out)


def _name(v: allele_pb2.Variant) -> str:
    return f"{v.chromosome}-{v.position}-{v.reference_bases}-{v.alternate_bases}"


def _print_frequency_table(response: Any, out: TextIO, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for column in ("variant", "dataset", "node", "country", "AC", "AN", "AF", "hom", "het", "hemi"):
        table.add_column(column, justify="right" if column in "AC AN AF hom het hemi" else "left")
    for f in response.frequencies:
        table.add_row(
            _name(f.variant), f.dataset_id, f.node_id, f.country, *_count_cells(f.counts)[:6]
        )
        for p in f.populations:
            table.add_row("", f"  {p.population}", "", "", *_count_cells(p.counts)[:6])
    if response.HasField("pooled") if hasattr(response, "pooled") else False:
        table.add_row("pooled", "", "", "", *_count_cells(response.pooled)[:6], style="bold")
        for p in getattr(response, "pooled_populations", ()):
            cells = _count_cells(p.counts)[:6]
            table.add_row("", f"  {p.population}", "", "", *cells, style="bold")
    print_table(table, out)


def _print_outcomes(node_outcomes: Any, out: TextIO) -> None:
    outcomes = Table(title="Node outcomes")
    for column in ("node", "country", "status", "latency ms", "frequencies"):
        outcomes.add_column(column)
    for o in node_outcomes:
        status = code_name(o.status.code, str(o.status.code))
        detail = f" ({o.status.message})" if o.status.message else ""
        outcomes.add_row(
            o.node_id, o.country, status + detail, f"{o.latency_ms:.2f}", str(o.frequency_count)
        )
        # Datasets of that node that gave no rows (withheld from us, budget spent).
        for d in o.datasets:
            reason = f"{code_name(d.status.code, str(d.status.code))} ({d.status.message})"
            outcomes.add_row(f"  dataset {d.dataset_id}", "", reason, "", "")
    print_table(outcomes, out)

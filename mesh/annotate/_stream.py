"""The pipeline: VCF records -> batches of split ALTs -> several lookups in flight -> writer.

Records are read once, in order; each ALT that is a valid variant joins the current
batch (``batch_size`` variants, within the target's ``max_batch_variants``). Up to
``in_flight`` batches are outstanding at once (``BatchLookupVariants.future``); the
oldest is always written first, so the output keeps the input order. A batch whose
call fails leaves its records' fields ``.``; a node that fails inside a batch is only
an outcome; neither stops the run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pysam

from mesh.annotate._columns import Column, Value, plan_columns, values_of
from mesh.annotate._writers import TsvWriter, VcfWriter, Writer
from mesh.errors import InvalidArgumentError
from mesh.model.genome import Assembly
from mesh.model.variants import validate_variant
from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    catalog_service_pb2,
    catalog_service_pb2_grpc,
)

#: Per record: the record, and per ALT its index in the batch (-1: not queried).
_Slots = tuple[pysam.VariantRecord, list[int]]


@dataclass
class AnnotateOptions:
    """What ``allelemesh annotate`` was asked to do."""

    assembly: Assembly = Assembly.GRCH38
    fields: Sequence[str] = ("AF", "AC", "AN")
    by: str = "country"
    populations: Sequence[str] = ()
    datasets: Sequence[str] = ()
    out: Path | None = None
    tsv: bool = False
    batch_size: int = 1000
    in_flight: int = 4
    timeout_s: float = 60.0


@dataclass
class NodeTally:
    """How one node fared over every batch."""

    country: str
    answered: int = 0
    failed: int = 0
    last_error: str = ""


@dataclass
class Summary:
    """What the run did, for the closing report."""

    records: int = 0
    alleles: int = 0
    queried: int = 0
    found: int = 0
    not_queried: int = 0
    batches: int = 0
    failed_batches: int = 0
    batch_errors: list[str] = field(default_factory=list)
    nodes: dict[str, NodeTally] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)


def catalog_groups(channel: grpc.Channel, options: AnnotateOptions) -> list[str]:
    """Countries (or dataset ids) the target's catalogue lists; best effort, ``[]`` on failure."""
    stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
    groups: set[str] = set()
    token = ""
    for _ in range(100):  # bounded: pages of a catalogue, never an endless loop
        request = catalog_service_pb2.ListDatasetsRequest(
            assembly=options.assembly.to_proto(),
            page_size=1000,
            page_token=token,
            scope=allele_pb2.SCOPE_MESH,
        )
        try:
            response = stub.ListDatasets(request, timeout=options.timeout_s)
        except grpc.RpcError:
            break
        for dataset in response.datasets:
            if not options.datasets or dataset.id in options.datasets:
                groups.add(dataset.country if options.by == "country" else dataset.id)
        token = response.next_page_token
        if not token:
            break
    return sorted(g for g in groups if g)


class Annotator:
    """One run over one input; :meth:`run` returns the :class:`Summary`."""

    def __init__(
        self,
        source: pysam.VariantFile,
        channel: grpc.Channel,
        options: AnnotateOptions,
        *,
        groups: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.source, self.options, self.progress = source, options, progress
        self.stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        self.groups = list(groups)
        self.summary = Summary()
        self.columns: list[Column] = []
        self.writer: Writer | None = None

    def run(self) -> Summary:
        """Stream every record through; close the writer (and index) at the end."""
        pending: deque[tuple[list[_Slots], Any]] = deque()
        try:
            for batch, variants in self._batches():
                pending.append((batch, self._submit(variants)))
                while len(pending) > self.options.in_flight:
                    self._drain(*pending.popleft())
            while pending:
                self._drain(*pending.popleft())
            if self.writer is None:  # an input without records still gets its header
                self._open([])
        finally:
            for _batch, future in pending:
                if future is not None:
                    future.cancel()
            if self.writer is not None:
                self.writer.close()
        return self.summary

    def _batches(self) -> Iterator[tuple[list[_Slots], list[allele_pb2.Variant]]]:
        assembly, size, summary = self.options.assembly, self.options.batch_size, self.summary
        batch: list[_Slots] = []
        variants: list[allele_pb2.Variant] = []
        for record in self.source:
            summary.records += 1
            slots: list[int] = []
            for alt in record.alts or ():
                summary.alleles += 1
                try:
                    key = validate_variant(
                        record.chrom, record.pos, record.ref or "", alt, assembly
                    )
                except InvalidArgumentError:
                    slots.append(-1)  # symbolic, '*', or a contig outside the assembly
                    summary.not_queried += 1
                    continue
                slots.append(len(variants))
                variants.append(
                    allele_pb2.Variant(
                        chromosome=key.chromosome,
                        position=key.position,
                        reference_bases=key.ref,
                        alternate_bases=key.alt,
                    )
                )
            batch.append((record, slots))
            if len(variants) >= size:
                yield batch, variants
                batch, variants = [], []
        if batch:
            yield batch, variants

    def _submit(self, variants: list[allele_pb2.Variant]) -> Any:
        if not variants:
            return None
        self.summary.batches += 1
        self.summary.queried += len(variants)
        request = allele_service_pb2.BatchLookupVariantsRequest(
            assembly=self.options.assembly.to_proto(),
            variants=variants,
            dataset_ids=list(self.options.datasets),
            populations=list(self.options.populations),
            scope=allele_pb2.SCOPE_MESH,
        )
        return self.stub.BatchLookupVariants.future(request, timeout=self.options.timeout_s)

    def _drain(self, batch: list[_Slots], future: Any) -> None:
        response: allele_service_pb2.BatchLookupVariantsResponse | None = None
        if future is not None:
            try:
                response = future.result()
            except grpc.RpcError as error:
                self.summary.failed_batches += 1
                text = f"{error.code().name}: {error.details()}"
                if text not in self.summary.batch_errors:
                    self.summary.batch_errors.append(text)
        if response is not None:
            self._tally(response)
        if self.writer is None:
            self._open(response.outcomes if response is not None else [])
        assert self.writer is not None
        results = response.results if response is not None else None
        columns, by = self.columns, self.options.by
        for record, slots in batch:
            values: list[Sequence[Value] | None] = []
            for slot in slots:
                if slot < 0 or results is None:
                    values.append(None)
                    continue
                result = results[slot]
                if result.frequencies:
                    self.summary.found += 1
                values.append(values_of(result, columns, by))
            self.writer.write(record, values)
        if self.progress is not None:
            self.progress(len(batch))

    def _tally(self, response: allele_service_pb2.BatchLookupVariantsResponse) -> None:
        for outcome in response.outcomes:
            tally = self.summary.nodes.setdefault(outcome.node_id, NodeTally(outcome.country))
            if outcome.status.code == 0:
                tally.answered += 1
            else:
                tally.failed += 1
                tally.last_error = outcome.status.message

    def _open(self, outcomes: Sequence[allele_pb2.NodeOutcome]) -> None:
        """Declare the columns: the catalogue's groups and every group the first answer named."""
        groups = set(self.groups)
        for outcome in outcomes:
            if self.options.by == "country":
                groups.add(outcome.country)
            else:
                groups.update(
                    d.dataset_id
                    for d in outcome.datasets
                    if not self.options.datasets or d.dataset_id in self.options.datasets
                )
        options = self.options
        self.columns = plan_columns(
            options.fields,
            sorted(g for g in groups if g),
            options.populations,
            options.by,
            options.assembly.value,
        )
        self.summary.columns = [c.key for c in self.columns]
        if options.tsv:
            self.writer = TsvWriter(self.columns, options.out)
        else:
            self.writer = VcfWriter(self.source, self.columns, options.out)

"""``allelemesh hail export``: aggregate a country-sized callset with Hail, write sites VCFs.

A national callset of 10^5..10^6 genomes is aggregated where it lives, on its Spark
cluster: this module is a Hail pipeline from genotypes (VCF/BCF or a Hail MatrixTable) to
one bgzipped, tabix-indexed sites VCF per chromosome, which ``allelemesh index build``
then reads. Only aggregated counts leave the pipeline.

The counts are those of :mod:`nodes.build.genotype_counts`, rule for rule (the same samples
file, the same groups, the same pseudo-autosomal regions from
:data:`nodes.build.genotype_counts.PAR_REGIONS`):

* groups: the total, each population ``P`` of the samples file and ``P_M``/``P_F``;
* a missing call adds nothing; a diploid call adds 2 to AN, a haploid call 1;
* per ALT allele: AC = copies; a diploid call with two copies is homozygous, with one
  heterozygous; a haploid call carrying it is hemizygous;
* males are haploid on X and Y outside the PARs: a diploid male call there is read as
  haploid and a heterozygous one (which cannot be) as missing; females on Y are ignored;
  samples of unknown sex are counted as called.

Hail has no half-missing calls: ``./1`` is imported as a missing call (the VCF path
counts its called allele). Multi-allelic records are written as they are, with
``Number=A`` arrays; the builder splits them exactly as it splits any VCF.

The output names its counts ``AC``/``AN``/``nhomalt``/``nhet``/``nhemi`` (totals) and
``AC_<L>``/``AN_<L>``/``nhomalt_<L>``/``nhet_<L>``/``nhemi_<L>`` per group, and declares
its groups in the header (``##allelemesh_groups=NO,NO_F,NO_M``): the builder reads
that declaration (:func:`nodes.build.vcf_counts.declared_convention`), so no ``--info-map`` is
needed and no label is guessed.

Hail is an optional extra (``pip install 'allelemesh[hail]'``) and is imported only
when a pipeline runs.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh.errors import ConfigError, IndexBuildError
from mesh.model.genome import Assembly, canonical_chromosome
from nodes.build.genotype_counts import PAR_REGIONS, read_samples
from nodes.build.vcf_counts import GROUPS_HEADER_KEY

log = logging.getLogger(__name__)

#: Hail's reference genomes name contigs ``chr1`` (GRCh38) or ``1`` (GRCh37).
_MITO = {Assembly.GRCH38: "chrM", Assembly.GRCH37: "MT"}
#: The count fields of every group, as (INFO key prefix, VCF Number, description).
_FIELDS = (
    ("AC", "A", "alternate allele count"),
    ("AN", "1", "called alleles"),
    ("nhomalt", "A", "homozygous alternate calls"),
    ("nhet", "A", "heterozygous calls"),
    ("nhemi", "A", "hemizygous (haploid) calls"),
)


@dataclass(frozen=True)
class ExportOptions:
    """What ``allelemesh hail export`` was asked to do."""

    inputs: Sequence[str]
    samples: Path
    out: Path
    assembly: Assembly = Assembly.GRCH38
    populations: Sequence[str] = ()
    spark_master: str | None = None
    local_cores: int = 2
    tmp_dir: Path | None = None


def reference_contig(name: str, assembly: Assembly) -> str:
    """The name Hail's reference genome uses for a VCF contig name (any accepted alias)."""
    canonical = canonical_chromosome(name, assembly)
    if canonical == "MT":
        return _MITO[assembly]
    return f"chr{canonical}" if assembly is Assembly.GRCH38 else canonical


def info_key(prefix: str, label: str) -> str:
    """``AC`` for the total, ``AC_NO_M`` for group ``NO_M``."""
    return f"{prefix}_{label}" if label else prefix


def groups_of(samples_path: Path, populations: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Per sample (population, sex), and the group labels the counts will carry."""
    samples = read_samples(samples_path)
    chosen = set(populations)
    known = {s.population for s in samples}
    if chosen - known:
        raise ConfigError(
            f"--populations: {', '.join(sorted(chosen - known))} not in {samples_path} "
            f"(populations there: {', '.join(sorted(known))})"
        )
    table = {s.name: (s.population if not chosen or s.population in chosen else "", s.sex)
             for s in samples}  # fmt: skip
    labels = {p for p, _ in table.values() if p}
    labels |= {f"{p}_{sex}" for p, sex in table.values() if p and sex}
    return table, sorted(labels)


def _contig_recoding(inputs: Sequence[str], assembly: Assembly) -> dict[str, str]:
    """Map each contig named in the inputs' headers to the Hail reference's name for it."""
    import pysam

    recoding: dict[str, str] = {}
    for path in inputs:
        if Path(path).suffix == ".mt" or Path(path).is_dir():
            continue
        with pysam.VariantFile(path) as vcf:
            for name in map(str, vcf.header.contigs):
                try:
                    recoding[name] = reference_contig(name, assembly)
                except ValueError:
                    continue  # an alt contig: records there are an error at import
    return recoding


def _init_hail(options: ExportOptions) -> Any:
    """Start Hail on the configured Spark master (or locally), quietly, logging to out/."""
    try:
        import hail as hl
    except ModuleNotFoundError:
        raise ConfigError(
            "allelemesh hail needs the hail extra: pip install 'allelemesh[hail]'"
        ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError("Hail needs Java (11 or 17): install a JDK or set JAVA_HOME")
    options.out.mkdir(parents=True, exist_ok=True)
    if options.spark_master is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: loopback only
    tmp = options.tmp_dir or options.out / ".hail-tmp"
    hl.init(
        master=options.spark_master,
        local=f"local[{options.local_cores}]",
        app_name="allelemesh hail export",
        log=str(options.out / "hail.log"),
        quiet=True,
        tmp_dir=str(tmp),
        local_tmpdir=str(tmp),
        default_reference=options.assembly.value,
        idempotent=True,
    )
    return hl


def _read(hl: Any, options: ExportOptions) -> Any:
    """The genotypes as a MatrixTable keyed by (locus, alleles)."""
    tables = [p for p in options.inputs if p.endswith(".mt")]
    vcfs = [p for p in options.inputs if not p.endswith(".mt")]
    if tables and vcfs:
        raise ConfigError("--input: give VCF/BCF files or one MatrixTable, not both")
    if tables:
        if len(tables) > 1:
            raise ConfigError("--input: one MatrixTable at a time")
        return hl.read_matrix_table(tables[0])
    return hl.import_vcf(
        list(vcfs),
        reference_genome=options.assembly.value,
        contig_recoding=_contig_recoding(vcfs, options.assembly),
        force_bgz=any(p.endswith(".gz") for p in vcfs),
        array_elements_required=False,
    )


def _entry_calls(hl: Any, mt: Any, assembly: Assembly) -> Any:
    """Per entry: the call as counted (haploid males outside the PARs), or missing."""
    pars = {
        reference_contig(chrom, assembly): [hl.interval(s, e, includes_end=True) for s, e in spans]
        for chrom, spans in PAR_REGIONS[assembly].items()
    }
    contig, position = mt.locus.contig, mt.locus.position
    in_par = hl.literal(pars).get(contig, hl.empty_array(hl.tinterval(hl.tint32)))
    haploid_region = hl.literal(set(pars)).contains(contig) & ~in_par.any(
        lambda span: span.contains(position)
    )
    mt = mt.annotate_rows(_haploid=haploid_region, _on_y=contig == reference_contig("Y", assembly))
    gt = mt.GT
    male = mt._sex == "M"
    hap = mt._haploid & male
    skip = (
        hl.is_missing(gt)
        | (mt._on_y & mt._haploid & (mt._sex == "F"))
        | (hap & (gt.ploidy == 2) & gt.is_het())
    )
    alleles = hl.if_else(hap | (gt.ploidy == 1), hl.array([gt[0]]), hl.array([gt[0], gt[1]]))
    return mt.annotate_entries(_alleles=hl.or_missing(~skip, alleles))


def _aggregate(hl: Any, mt: Any, labels: list[str]) -> Any:
    """Row fields with every group's AN and per-allele AC/hom/het/hemi."""
    n_alt = hl.len(mt.alleles) - 1
    alleles = mt._alleles
    ploidy = hl.len(alleles)
    copies = hl.range(1, n_alt + 1).map(lambda i: alleles.filter(lambda a: a == i).length())
    diploid, haploid = ploidy == 2, ploidy == 1
    hom = copies.map(lambda c: hl.int(diploid & (c == 2)))
    het = copies.map(lambda c: hl.int(diploid & (c == 1)))
    hemi = copies.map(lambda c: hl.int(haploid & (c >= 1)))

    def group(condition: Any) -> Any:
        called = condition & hl.is_defined(alleles)
        return hl.struct(
            AN=hl.agg.filter(called, hl.agg.sum(ploidy)),
            AC=hl.agg.filter(called, hl.agg.array_sum(copies)),
            nhomalt=hl.agg.filter(called, hl.agg.array_sum(hom)),
            nhet=hl.agg.filter(called, hl.agg.array_sum(het)),
            nhemi=hl.agg.filter(called, hl.agg.array_sum(hemi)),
        )

    def zeros(counts: Any) -> Any:
        """array_sum over no entries is missing: no call is zero of everything."""
        empty = hl.range(n_alt).map(lambda _: 0)
        return counts.annotate(**{k: hl.coalesce(counts[k], empty) for k in _per_allele()})

    fields = {"": zeros(group(hl.is_defined(mt._pop)))}
    for label in labels:
        population, _, sex = label.partition("_")
        condition = mt._pop == population if not sex else (mt._pop == population) & (mt._sex == sex)
        fields[label] = zeros(group(condition))
    return mt.annotate_rows(
        _counts=hl.struct(**{f"g{i}": v for i, v in enumerate(fields.values())})
    )


def _per_allele() -> tuple[str, ...]:
    return tuple(prefix for prefix, number, _ in _FIELDS if number == "A")


def _info(hl: Any, rows: Any, labels: list[str]) -> Any:
    """The INFO struct in the declared key order: total first, then each group."""
    info: dict[str, Any] = {}
    for i, label in enumerate(["", *labels]):
        counts = rows._counts[f"g{i}"]
        for prefix, _, _ in _FIELDS:
            info[info_key(prefix, label)] = counts[prefix]
    return hl.struct(**info)


def _metadata(labels: list[str]) -> dict[str, Any]:
    entries: dict[str, dict[str, str]] = {}
    for label in ["", *labels]:
        for prefix, number, what in _FIELDS:
            who = f"samples of group {label}" if label else "all samples"
            entries[info_key(prefix, label)] = {
                "Number": number,
                "Type": "Integer",
                "Description": f"{what}, {who} (allelemesh hail export)",
            }
    return {"info": entries}


def export(options: ExportOptions) -> list[Path]:
    """Run the pipeline; return the per-chromosome sites VCFs written (bgzipped, indexed)."""
    samples, labels = groups_of(options.samples, options.populations)
    hl = _init_hail(options)
    try:
        mt = _read(hl, options)
        sample_table = hl.literal(samples)
        known = sample_table.contains(mt.s)
        mt = mt.annotate_cols(
            _pop=hl.or_missing(known, sample_table.get(mt.s)[0]),
            _sex=hl.or_missing(known, sample_table.get(mt.s)[1]),
        )
        mt = _aggregate(hl, _entry_calls(hl, mt, options.assembly), labels)
        rows = mt.rows()
        sites = rows.select(rows.rsid, rows.qual, rows.filters, info=_info(hl, rows, labels))
        header = options.out / ".allelemesh-header.txt"
        header.write_text(
            f"##source=allelemesh hail export (Hail {hl.version()})\n"
            f"##{GROUPS_HEADER_KEY}={','.join(labels)}\n"
        )
        order = hl.get_reference(options.assembly.value).contigs
        contigs = sorted(
            sites.aggregate(hl.agg.collect_as_set(sites.locus.contig)), key=order.index
        )
        written = []
        for contig in contigs:
            path = options.out / f"{canonical_chromosome(contig, options.assembly)}.vcf.bgz"
            one = sites.filter(sites.locus.contig == contig)
            hl.export_vcf(
                one, str(path), metadata=_metadata(labels), append_to_header=str(header),
                tabix=True,
            )  # fmt: skip
            written.append(path)
        header.unlink()
    except Exception as error:  # a Hail/Spark failure: name it, keep no half output
        if isinstance(error, (ConfigError, IndexBuildError)):
            raise
        raise IndexBuildError(f"hail export failed: {type(error).__name__}: {error}") from error
    finally:
        hl.stop()
    log.info("hail export wrote %d sites VCFs to %s", len(written), options.out)
    return written

"""The mesh the browser tests look at, and what the page should show, from the records.

Three countries and a dead peer, all on loopback:

* NO (``no-oslo-1``): ``no-gdi`` (GDI groups NO, NO_M, NO_F) and ``no-biobank`` (no groups);
* FI (``fi-hki-1``): ``fi-gdi`` (FI, FI_M, FI_F) and ``fi-legacy`` on GRCh37;
* LU (``lu-lux-1``): ``lu-gdi`` (LU, LU_M, LU_F), released with ``round_counts_to = 10``
  and ``min_allele_count = 5``;
* EE (``ee-tln-1``): a peer address with nothing listening.

The expected numbers come from :mod:`tests.vcf_factory` (independent of allelemesh) and,
for LU, from the rounding and suppression rules applied here by hand.
"""

from __future__ import annotations

import dataclasses
import random
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from gateway.server import start_gateway
from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig
from nodes.serve.server import RunningNode, start_node
from tests.background_loop import background_loop
from tests.mesh_harness import dead_address, fast_settings, write_dataset
from tests.vcf_factory import Counts, GroupCounts, SiteRecord, expected_site_counts

SAMPLE_METADATA = Path(__file__).resolve().parents[2] / "samples" / "dataset-metadata.toml"
#: The variant every GRCh38 dataset holds (two ALTs at one site: the insertion and an SNV).
POS = 55_051_215
VARIANT = ("1", POS, "G", "GA")
SNV = ("1", POS, "G", "A")
#: A variant on X outside the PARs: male groups are hemizygous.
X_VARIANT = ("X", 3_000_000, "C", "T")
#: The paged region: positions REGION_START + 3*i, each in some of the countries.
REGION_START = 55_060_000
REGION_SITES = 30
REGION = f"1:{REGION_START}-{REGION_START + 3 * REGION_SITES}"
ROUND_TO = 10
MIN_AC = 5
DEAD_NODE = "ee-tln-1"

VariantTuple = tuple[str, int, str, str]


@dataclass
class DatasetSpec:
    """One dataset: its records, how it is written, and how its node releases it."""

    id: str
    country: str
    node_id: str
    records: list[SiteRecord]
    groups: list[str] = field(default_factory=list)
    assembly: str = "GRCh38"
    title: str = ""
    description: str = ""
    round_to: int = 0
    min_ac: int = 0
    #: Give the index the sample metadata file (with this title and description).
    metadata: bool = False
    #: The VCF's INFO convention (default: ``gdi`` with groups, else ``basic``).
    style: str = ""
    #: Make the index one built before rsIDs were kept (no rsID table).
    without_ids: bool = False

    def raw(self) -> dict[VariantTuple, dict[str, Counts]]:
        """``{variant: {group: (AC, AN, hom, het, hemi)}}`` in the records (``""``: the total)."""
        table = {}
        for rec in self.records:
            per_alt = expected_site_counts(rec, self.assembly)
            for alt, by_group in zip(rec.alts, per_alt, strict=True):
                table[(rec.chrom, rec.pos, rec.ref, alt)] = by_group
        return table

    def expected(self) -> dict[VariantTuple, dict[str, Counts]]:
        """The same counts as the node releases them (rounded, suppressed)."""
        return {
            v: {g: self.release(c) for g, c in by_group.items()}
            for v, by_group in self.raw().items()
        }

    def release(self, counts: Counts) -> Counts:
        """The dataset's privacy rules, written out here independently of ``nodes.serve.policy``."""
        if self.min_ac > 1 and 0 < counts[0] < self.min_ac:
            return (0, 0, 0, 0, 0)
        if self.round_to > 1:
            step = self.round_to
            ac, an, hom, het, hemi = (
                None if v is None else (v + step // 2) // step * step for v in counts
            )
            return (ac, an, hom, het, hemi)
        return counts

    def precision(self, counts: Counts) -> str:
        """``exact``, ``rounded`` or ``suppressed`` for one row, from its counts as recorded."""
        if self.min_ac > 1 and 0 < counts[0] < self.min_ac:
            return "suppressed"
        return "rounded" if self.round_to > 1 else "exact"

    def sample_count(self) -> int:
        """What the catalogue should say: a sites file has AN/2 samples at most."""
        return (max(r.total.an for r in self.records) + 1) // 2


def _gdi(cc: str, an: int, ac: list[int], hom: list[int], male_share: float) -> dict:
    """A GDI record's groups: the country and its male and female parts."""
    m_an = int(an * male_share) // 2 * 2
    m_ac = [int(a * male_share) for a in ac]
    m_hom = [min(h, a // 2) for h, a in zip([int(h * male_share) for h in hom], m_ac, strict=True)]
    f_hom = [h - mh for h, mh in zip(hom, m_hom, strict=True)]
    return {
        cc: GroupCounts(an, ac, hom),
        f"{cc}_M": GroupCounts(m_an, m_ac, m_hom),
        f"{cc}_F": GroupCounts(an - m_an, [a - m for a, m in zip(ac, m_ac, strict=True)], f_hom),
    }


def _gdi_record(
    cc: str,
    chrom: str,
    pos: int,
    ref: str,
    alts: list[str],
    an: int,
    ac: list[int],
    hom: list[int],
    male_share: float = 0.5,
) -> SiteRecord:
    return SiteRecord(
        chrom,
        pos,
        ref,
        alts,
        GroupCounts(an, ac, hom),
        populations=_gdi(cc, an, ac, hom, male_share),
    )


def _region_records(rng: random.Random, cc: str, share: float, with_groups: bool) -> list:
    records = []
    for i in range(REGION_SITES):
        if rng.random() > share:
            continue
        an = rng.randrange(400, 3000, 2)
        ac = [rng.randrange(1, an // 10)]
        hom = [rng.randrange(0, ac[0] // 4 + 1)]
        pos, ref, alts = REGION_START + 3 * i, "A", ["C"] if i % 5 else ["AT"]
        if with_groups:
            records.append(_gdi_record(cc, "1", pos, ref, alts, an, ac, hom))
        else:
            records.append(SiteRecord("1", pos, ref, alts, GroupCounts(an, ac, hom)))
    return records


def dataset_specs(seed: int = 11) -> list[DatasetSpec]:
    """Every dataset of the test mesh, records sorted."""
    rng = random.Random(seed)
    no_gdi = [
        _gdi_record("NO", "1", POS, "G", ["GA", "A"], 4200, [63, 12], [4, 0]),
        *_region_records(rng, "NO", 0.8, True),
        _gdi_record("NO", "X", X_VARIANT[1], "C", ["T"], 3000, [90], [10], male_share=0.4),
    ]
    no_biobank = [
        SiteRecord("1", POS, "G", ["GA"], GroupCounts(1800, [21], [1])),
        *_region_records(rng, "NO", 0.5, False),
    ]
    fi_gdi = [
        _gdi_record("FI", "1", POS, "G", ["GA"], 2600, [143], [9]),
        *_region_records(rng, "FI", 0.7, True),
    ]
    fi_legacy = [SiteRecord("1", POS - 1000, "C", ["T"], GroupCounts(500, [7], [0]))]
    lu_gdi = [
        # The SNV's AC is 4 (its groups 2 and 2): withheld below 5; the insertion is rounded.
        _gdi_record("LU", "1", POS, "G", ["GA", "A"], 1204, [37, 4], [3, 0]),
        *_region_records(rng, "LU", 0.6, True),
    ]
    return [
        DatasetSpec(
            "no-gdi",
            "NO",
            "no-oslo-1",
            no_gdi,
            ["NO", "NO_M", "NO_F"],
            title="Norwegian GDI cohort",
            description="Whole genomes of the Norwegian GDI reference cohort.",
            metadata=True,
        ),
        DatasetSpec(
            "no-biobank",
            "NO",
            "no-oslo-1",
            no_biobank,
            title="Norwegian biobank",
            description="Population biobank exomes, aggregated.",
        ),
        DatasetSpec(
            "fi-gdi",
            "FI",
            "fi-hki-1",
            fi_gdi,
            ["FI", "FI_M", "FI_F"],
            title="Finnish GDI cohort",
            description="Finnish reference genomes.",
        ),
        DatasetSpec(
            "fi-legacy",
            "FI",
            "fi-hki-1",
            fi_legacy,
            assembly="GRCh37",
            title="Finnish legacy panel",
            description="An older GRCh37 panel.",
        ),
        DatasetSpec(
            "lu-gdi",
            "LU",
            "lu-lux-1",
            lu_gdi,
            ["LU", "LU_M", "LU_F"],
            title="Luxembourg GDI cohort",
            description="Counts rounded to 10; allele counts below 5 withheld.",
            round_to=ROUND_TO,
            min_ac=MIN_AC,
        ),
    ]


def build(spec: DatasetSpec, root: Path) -> Path:
    """Write the dataset's VCF and build its index."""
    metadata = None
    if spec.metadata:
        data = tomllib.loads(SAMPLE_METADATA.read_text(encoding="utf-8"))
        data["title"], data["description"] = spec.title, spec.description
        metadata = root / f"{spec.id}.metadata.toml"
        metadata.write_text(tomli_w.dumps(data), encoding="utf-8")
    index = write_dataset(
        root,
        spec.id,
        spec.records,
        assembly=spec.assembly,
        populations=spec.groups,
        style=spec.style or ("gdi" if spec.groups else "basic"),
        title=spec.title,
        description=spec.description,
        metadata=metadata,
    )
    if spec.without_ids:
        from tests.variant_id_world import make_old

        make_old(index)
    return index


@dataclass
class RunningMesh:
    """The gateway's HTTP base URL and the datasets behind it."""

    url: str
    specs: list[DatasetSpec]
    #: A second gateway over the same peers, of the staging tier, checking them every 1 s.
    staging_url: str = ""


def _node_configs(specs: list[DatasetSpec], root: Path) -> list[NodeConfig]:
    by_node: dict[tuple[str, str], list[DatasetConfig]] = {}
    for spec in specs:
        index = build(spec, root)
        dataset = DatasetConfig(
            spec.id, index, round_counts_to=spec.round_to, min_allele_count=spec.min_ac
        )
        by_node.setdefault((spec.node_id, spec.country), []).append(dataset)
    return [
        NodeConfig(node_id, cc, "127.0.0.1:0", tuple(datasets), reload_interval_s=0)
        for (node_id, cc), datasets in by_node.items()
    ]


@contextmanager
def running_mesh(root: Path, specs: list[DatasetSpec] | None = None) -> Iterator[RunningMesh]:
    """Nodes, a dead peer and a gateway with its HTTP API, in a background event loop."""
    specs = specs if specs is not None else dataset_specs()
    configs = _node_configs(specs, root)
    with background_loop("pages-mesh") as loop:
        nodes: list[RunningNode] = []
        gateway = staging = None
        try:
            for config in configs:
                nodes.append(loop.run(start_node(config, insecure=True)))
            peers = [
                PeerConfig(id=c.id, country=c.country, addresses=(f"127.0.0.1:{n.port}",))
                for c, n in zip(configs, nodes, strict=True)
            ]
            nobody = dead_address()  # a node down
            peers.append(PeerConfig(id=DEAD_NODE, country="EE", addresses=(nobody,)))
            config = GatewayConfig(
                id="gw-pages",
                listen="127.0.0.1:0",
                http_listen="127.0.0.1:0",
                peers=tuple(peers),
                timeout_ms=3000,
            )
            settings = fast_settings(timeout_s=3.0)
            gateway = loop.run(start_gateway(config, insecure=True, settings=settings))
            staging_config = dataclasses.replace(
                config, id="gw-pages-staging", tier="staging", mesh_check_interval_s=1.0
            )
            staging = loop.run(
                start_gateway(staging_config, insecure=True, settings=fast_settings(timeout_s=3.0))
            )
            yield RunningMesh(gateway.http.url, specs, staging.http.url)
        finally:
            for running in (gateway, staging):
                if running is not None:
                    loop.run(running.stop(grace=0.5))
            for node in nodes:
                loop.run(node.stop(0))

"""Chromosome aliases, contig lengths and RefSeq accessions of GRCh37 and GRCh38."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mesh.errors import InvalidArgumentError
from mesh.model import genome
from mesh.model.genome import (
    CHROMOSOMES,
    Assembly,
    canonical_chromosome,
    contig_length,
    refseq_accession,
)
from mesh.v1 import allele_pb2

# Typed in from the GRC / NCBI assembly reports (GCF_000001405.13 and .26), not from the code.
GRCH38 = {
    "1": (248956422, "NC_000001.11"),
    "2": (242193529, "NC_000002.12"),
    "3": (198295559, "NC_000003.12"),
    "4": (190214555, "NC_000004.12"),
    "5": (181538259, "NC_000005.10"),
    "6": (170805979, "NC_000006.12"),
    "7": (159345973, "NC_000007.14"),
    "8": (145138636, "NC_000008.11"),
    "9": (138394717, "NC_000009.12"),
    "10": (133797422, "NC_000010.11"),
    "11": (135086622, "NC_000011.10"),
    "12": (133275309, "NC_000012.12"),
    "13": (114364328, "NC_000013.11"),
    "14": (107043718, "NC_000014.9"),
    "15": (101991189, "NC_000015.10"),
    "16": (90338345, "NC_000016.10"),
    "17": (83257441, "NC_000017.11"),
    "18": (80373285, "NC_000018.10"),
    "19": (58617616, "NC_000019.10"),
    "20": (64444167, "NC_000020.11"),
    "21": (46709983, "NC_000021.9"),
    "22": (50818468, "NC_000022.11"),
    "X": (156040895, "NC_000023.11"),
    "Y": (57227415, "NC_000024.10"),
    "MT": (16569, "NC_012920.1"),
}
GRCH37 = {
    "1": (249250621, "NC_000001.10"),
    "2": (243199373, "NC_000002.11"),
    "3": (198022430, "NC_000003.11"),
    "4": (191154276, "NC_000004.11"),
    "5": (180915260, "NC_000005.9"),
    "6": (171115067, "NC_000006.11"),
    "7": (159138663, "NC_000007.13"),
    "8": (146364022, "NC_000008.10"),
    "9": (141213431, "NC_000009.11"),
    "10": (135534747, "NC_000010.10"),
    "11": (135006516, "NC_000011.9"),
    "12": (133851895, "NC_000012.11"),
    "13": (115169878, "NC_000013.10"),
    "14": (107349540, "NC_000014.8"),
    "15": (102531392, "NC_000015.9"),
    "16": (90354753, "NC_000016.9"),
    "17": (81195210, "NC_000017.10"),
    "18": (78077248, "NC_000018.9"),
    "19": (59128983, "NC_000019.9"),
    "20": (63025520, "NC_000020.10"),
    "21": (48129895, "NC_000021.8"),
    "22": (51304566, "NC_000022.10"),
    "X": (155270560, "NC_000023.10"),
    "Y": (59373566, "NC_000024.9"),
    "MT": (16569, "NC_012920.1"),
}
TABLES = {Assembly.GRCH38: GRCH38, Assembly.GRCH37: GRCH37}
ROWS = [
    (assembly, name, length, accession)
    for assembly, table in TABLES.items()
    for name, (length, accession) in table.items()
]


@pytest.mark.parametrize(("assembly", "name", "length", "accession"), ROWS)
def test_length_and_accession(assembly: Assembly, name: str, length: int, accession: str) -> None:
    assert contig_length(name, assembly) == length
    assert refseq_accession(name, assembly) == accession


@pytest.mark.parametrize(("assembly", "name", "length", "accession"), ROWS)
def test_accession_resolves_back(
    assembly: Assembly, name: str, length: int, accession: str
) -> None:
    assert canonical_chromosome(accession, assembly) == name
    assert canonical_chromosome(accession) == name
    assert canonical_chromosome(accession.lower(), assembly) == name
    assert canonical_chromosome(accession.partition(".")[0], assembly) == name


def test_known_sums() -> None:
    # Totals of the primary chromosomes, a second check on the typed-in table.
    assert sum(length for length, _ in GRCH38.values()) == 3_088_286_401
    assert sum(length for length, _ in GRCH37.values()) == 3_095_693_981


def test_data_file_covers_every_chromosome() -> None:
    raw = json.loads(resources.files("mesh").joinpath("data/contigs.json").read_text("utf-8"))
    for assembly in Assembly:
        assert sorted(raw[assembly.value]) == sorted(CHROMOSOMES)


def test_data_loaded_once() -> None:
    assert genome._contigs() is genome._contigs()


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("1", "1"),
        ("chr1", "1"),
        ("CHR1", "1"),
        ("Chr1", "1"),
        ("22", "22"),
        ("chr22", "22"),
        ("X", "X"),
        ("x", "X"),
        ("chrX", "X"),
        ("23", "X"),
        ("Y", "Y"),
        ("chrY", "Y"),
        ("24", "Y"),
        ("M", "MT"),
        ("MT", "MT"),
        ("chrM", "MT"),
        ("chrMT", "MT"),
        ("mt", "MT"),
        (" 7 ", "7"),
    ],
)
@pytest.mark.parametrize("assembly", [None, Assembly.GRCH37, Assembly.GRCH38])
def test_aliases(alias: str, expected: str, assembly: Assembly | None) -> None:
    assert canonical_chromosome(alias, assembly) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "0",
        "chr0",
        "25",
        "26",
        "chr23",
        "chr24",
        "CHR23",
        "chrUn",
        "chr1_KI270706v1_random",
        "NC_000025.1",
        "2L",
    ],
)
def test_unknown_chromosome(name: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        canonical_chromosome(name, Assembly.GRCH38)
    assert caught.value.field == "chromosome"
    assert caught.value.reason == "UNKNOWN_CHROMOSOME"
    assert repr(name) in caught.value.message
    assert "chrM" in caught.value.message  # names what is accepted


def test_unknown_accession_version() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        canonical_chromosome("NC_000001.9")
    assert caught.value.reason == "UNKNOWN_CHROMOSOME"
    assert "NC_000001.9" in caught.value.message


@pytest.mark.parametrize(
    ("accession", "assembly", "other", "ours"),
    [
        ("NC_000001.10", Assembly.GRCH38, "GRCh37", "NC_000001.11"),
        ("NC_000001.11", Assembly.GRCH37, "GRCh38", "NC_000001.10"),
        ("NC_000024.9", Assembly.GRCH38, "GRCh37", "NC_000024.10"),
    ],
)
def test_accession_of_other_assembly(
    accession: str, assembly: Assembly, other: str, ours: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        canonical_chromosome(accession, assembly)
    error = caught.value
    assert error.field == "chromosome"
    assert error.reason == "ASSEMBLY_MISMATCH"
    for word in (accession, other, str(assembly), ours):
        assert word in error.message


def test_mitochondrion_accession_is_shared() -> None:
    assert canonical_chromosome("NC_012920.1", Assembly.GRCH37) == "MT"
    assert canonical_chromosome("NC_012920.1", Assembly.GRCH38) == "MT"


def test_lookups_accept_aliases() -> None:
    assert contig_length("chrX", Assembly.GRCH38) == 156040895
    assert refseq_accession("chrM", Assembly.GRCH37) == "NC_012920.1"
    with pytest.raises(InvalidArgumentError):
        contig_length("chr99", Assembly.GRCH38)


@pytest.mark.parametrize("assembly", list(Assembly))
def test_assembly_proto_round_trip(assembly: Assembly) -> None:
    assert Assembly.from_proto(assembly.to_proto()) is assembly


def test_assembly_from_proto_default_and_unknown() -> None:
    unspecified = allele_pb2.ASSEMBLY_UNSPECIFIED
    assert Assembly.from_proto(unspecified, default=Assembly.GRCH37) is Assembly.GRCH37
    with pytest.raises(InvalidArgumentError) as caught:
        Assembly.from_proto(unspecified)
    assert caught.value.field == "assembly"
    assert caught.value.reason == "UNKNOWN_ASSEMBLY"

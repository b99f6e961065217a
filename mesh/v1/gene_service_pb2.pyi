from mesh.v1 import allele_pb2 as _allele_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GeneMatch(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENE_MATCH_UNSPECIFIED: _ClassVar[GeneMatch]
    GENE_MATCH_SYMBOL: _ClassVar[GeneMatch]
    GENE_MATCH_SYNONYM: _ClassVar[GeneMatch]
    GENE_MATCH_FILE_NAME: _ClassVar[GeneMatch]
GENE_MATCH_UNSPECIFIED: GeneMatch
GENE_MATCH_SYMBOL: GeneMatch
GENE_MATCH_SYNONYM: GeneMatch
GENE_MATCH_FILE_NAME: GeneMatch

class SearchGeneRequest(_message.Message):
    __slots__ = ("assembly", "gene", "dataset_ids", "page_size", "page_token")
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    GENE_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    assembly: _allele_pb2.Assembly
    gene: str
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., gene: _Optional[str] = ..., dataset_ids: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class Gene(_message.Message):
    __slots__ = ("query", "symbol", "match", "matched_name", "gene_id", "assembly", "region", "other_loci", "source", "resolution")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    MATCHED_NAME_FIELD_NUMBER: _ClassVar[int]
    GENE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    OTHER_LOCI_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    query: str
    symbol: str
    match: GeneMatch
    matched_name: str
    gene_id: str
    assembly: _allele_pb2.Assembly
    region: _allele_pb2.Region
    other_loci: _containers.RepeatedCompositeFieldContainer[_allele_pb2.Region]
    source: str
    resolution: str
    def __init__(self, query: _Optional[str] = ..., symbol: _Optional[str] = ..., match: _Optional[_Union[GeneMatch, str]] = ..., matched_name: _Optional[str] = ..., gene_id: _Optional[str] = ..., assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., region: _Optional[_Union[_allele_pb2.Region, _Mapping]] = ..., other_loci: _Optional[_Iterable[_Union[_allele_pb2.Region, _Mapping]]] = ..., source: _Optional[str] = ..., resolution: _Optional[str] = ...) -> None: ...

class CountryFrequency(_message.Message):
    __slots__ = ("country", "counts")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    country: str
    counts: _allele_pb2.AlleleCounts
    def __init__(self, country: _Optional[str] = ..., counts: _Optional[_Union[_allele_pb2.AlleleCounts, _Mapping]] = ...) -> None: ...

class GeneVariant(_message.Message):
    __slots__ = ("variant", "frequencies", "countries", "pooled", "pooled_populations")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    FREQUENCIES_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    POOLED_FIELD_NUMBER: _ClassVar[int]
    POOLED_POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    variant: _allele_pb2.Variant
    frequencies: _containers.RepeatedCompositeFieldContainer[_allele_pb2.VariantFrequency]
    countries: _containers.RepeatedCompositeFieldContainer[CountryFrequency]
    pooled: _allele_pb2.AlleleCounts
    pooled_populations: _containers.RepeatedCompositeFieldContainer[_allele_pb2.PopulationFrequency]
    def __init__(self, variant: _Optional[_Union[_allele_pb2.Variant, _Mapping]] = ..., frequencies: _Optional[_Iterable[_Union[_allele_pb2.VariantFrequency, _Mapping]]] = ..., countries: _Optional[_Iterable[_Union[CountryFrequency, _Mapping]]] = ..., pooled: _Optional[_Union[_allele_pb2.AlleleCounts, _Mapping]] = ..., pooled_populations: _Optional[_Iterable[_Union[_allele_pb2.PopulationFrequency, _Mapping]]] = ...) -> None: ...

class SearchGeneResponse(_message.Message):
    __slots__ = ("gene", "variants", "next_page_token", "outcomes")
    GENE_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    gene: Gene
    variants: _containers.RepeatedCompositeFieldContainer[GeneVariant]
    next_page_token: str
    outcomes: _containers.RepeatedCompositeFieldContainer[_allele_pb2.NodeOutcome]
    def __init__(self, gene: _Optional[_Union[Gene, _Mapping]] = ..., variants: _Optional[_Iterable[_Union[GeneVariant, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[_allele_pb2.NodeOutcome, _Mapping]]] = ...) -> None: ...

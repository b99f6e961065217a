from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Assembly(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSEMBLY_UNSPECIFIED: _ClassVar[Assembly]
    ASSEMBLY_GRCH37: _ClassVar[Assembly]
    ASSEMBLY_GRCH38: _ClassVar[Assembly]

class Scope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCOPE_UNSPECIFIED: _ClassVar[Scope]
    SCOPE_LOCAL: _ClassVar[Scope]
    SCOPE_MESH: _ClassVar[Scope]

class CountPrecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COUNT_PRECISION_UNSPECIFIED: _ClassVar[CountPrecision]
    COUNT_PRECISION_EXACT: _ClassVar[CountPrecision]
    COUNT_PRECISION_ROUNDED: _ClassVar[CountPrecision]
    COUNT_PRECISION_SUPPRESSED: _ClassVar[CountPrecision]
ASSEMBLY_UNSPECIFIED: Assembly
ASSEMBLY_GRCH37: Assembly
ASSEMBLY_GRCH38: Assembly
SCOPE_UNSPECIFIED: Scope
SCOPE_LOCAL: Scope
SCOPE_MESH: Scope
COUNT_PRECISION_UNSPECIFIED: CountPrecision
COUNT_PRECISION_EXACT: CountPrecision
COUNT_PRECISION_ROUNDED: CountPrecision
COUNT_PRECISION_SUPPRESSED: CountPrecision

class Variant(_message.Message):
    __slots__ = ("chromosome", "position", "reference_bases", "alternate_bases")
    CHROMOSOME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_BASES_FIELD_NUMBER: _ClassVar[int]
    ALTERNATE_BASES_FIELD_NUMBER: _ClassVar[int]
    chromosome: str
    position: int
    reference_bases: str
    alternate_bases: str
    def __init__(self, chromosome: _Optional[str] = ..., position: _Optional[int] = ..., reference_bases: _Optional[str] = ..., alternate_bases: _Optional[str] = ...) -> None: ...

class Region(_message.Message):
    __slots__ = ("chromosome", "start", "end")
    CHROMOSOME_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    chromosome: str
    start: int
    end: int
    def __init__(self, chromosome: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class AlleleCounts(_message.Message):
    __slots__ = ("allele_count", "allele_number", "allele_frequency", "homozygous_count", "heterozygous_count", "hemizygous_count", "precision")
    ALLELE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ALLELE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ALLELE_FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    HOMOZYGOUS_COUNT_FIELD_NUMBER: _ClassVar[int]
    HETEROZYGOUS_COUNT_FIELD_NUMBER: _ClassVar[int]
    HEMIZYGOUS_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    allele_count: int
    allele_number: int
    allele_frequency: float
    homozygous_count: int
    heterozygous_count: int
    hemizygous_count: int
    precision: CountPrecision
    def __init__(self, allele_count: _Optional[int] = ..., allele_number: _Optional[int] = ..., allele_frequency: _Optional[float] = ..., homozygous_count: _Optional[int] = ..., heterozygous_count: _Optional[int] = ..., hemizygous_count: _Optional[int] = ..., precision: _Optional[_Union[CountPrecision, str]] = ...) -> None: ...

class PopulationFrequency(_message.Message):
    __slots__ = ("population", "counts")
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    population: str
    counts: AlleleCounts
    def __init__(self, population: _Optional[str] = ..., counts: _Optional[_Union[AlleleCounts, _Mapping]] = ...) -> None: ...

class VariantFrequency(_message.Message):
    __slots__ = ("variant", "dataset_id", "node_id", "country", "counts", "populations", "filters", "extras")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    EXTRAS_FIELD_NUMBER: _ClassVar[int]
    variant: Variant
    dataset_id: str
    node_id: str
    country: str
    counts: AlleleCounts
    populations: _containers.RepeatedCompositeFieldContainer[PopulationFrequency]
    filters: _containers.RepeatedScalarFieldContainer[str]
    extras: FrequencyExtras
    def __init__(self, variant: _Optional[_Union[Variant, _Mapping]] = ..., dataset_id: _Optional[str] = ..., node_id: _Optional[str] = ..., country: _Optional[str] = ..., counts: _Optional[_Union[AlleleCounts, _Mapping]] = ..., populations: _Optional[_Iterable[_Union[PopulationFrequency, _Mapping]]] = ..., filters: _Optional[_Iterable[str]] = ..., extras: _Optional[_Union[FrequencyExtras, _Mapping]] = ...) -> None: ...

class FrequencyExtras(_message.Message):
    __slots__ = ("grpmax_group", "grpmax_allele_count", "grpmax_allele_number", "grpmax_allele_frequency", "grpmax_homozygous_count", "faf95_max", "faf95_max_group", "faf95")
    class Faf95Entry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    GRPMAX_GROUP_FIELD_NUMBER: _ClassVar[int]
    GRPMAX_ALLELE_COUNT_FIELD_NUMBER: _ClassVar[int]
    GRPMAX_ALLELE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    GRPMAX_ALLELE_FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    GRPMAX_HOMOZYGOUS_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAF95_MAX_FIELD_NUMBER: _ClassVar[int]
    FAF95_MAX_GROUP_FIELD_NUMBER: _ClassVar[int]
    FAF95_FIELD_NUMBER: _ClassVar[int]
    grpmax_group: str
    grpmax_allele_count: int
    grpmax_allele_number: int
    grpmax_allele_frequency: float
    grpmax_homozygous_count: int
    faf95_max: float
    faf95_max_group: str
    faf95: _containers.ScalarMap[str, float]
    def __init__(self, grpmax_group: _Optional[str] = ..., grpmax_allele_count: _Optional[int] = ..., grpmax_allele_number: _Optional[int] = ..., grpmax_allele_frequency: _Optional[float] = ..., grpmax_homozygous_count: _Optional[int] = ..., faf95_max: _Optional[float] = ..., faf95_max_group: _Optional[str] = ..., faf95: _Optional[_Mapping[str, float]] = ...) -> None: ...

class NodeOutcome(_message.Message):
    __slots__ = ("node_id", "country", "status", "latency_ms", "frequency_count", "datasets")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_COUNT_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    country: str
    status: _status_pb2.Status
    latency_ms: float
    frequency_count: int
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetOutcome]
    def __init__(self, node_id: _Optional[str] = ..., country: _Optional[str] = ..., status: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., latency_ms: _Optional[float] = ..., frequency_count: _Optional[int] = ..., datasets: _Optional[_Iterable[_Union[DatasetOutcome, _Mapping]]] = ...) -> None: ...

class DatasetOutcome(_message.Message):
    __slots__ = ("dataset_id", "status")
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    status: _status_pb2.Status
    def __init__(self, dataset_id: _Optional[str] = ..., status: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

from mesh.v1 import allele_pb2 as _allele_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LookupVariantRequest(_message.Message):
    __slots__ = ("assembly", "variant", "dataset_ids", "populations", "scope")
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    assembly: _allele_pb2.Assembly
    variant: _allele_pb2.Variant
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    populations: _containers.RepeatedScalarFieldContainer[str]
    scope: _allele_pb2.Scope
    def __init__(self, assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., variant: _Optional[_Union[_allele_pb2.Variant, _Mapping]] = ..., dataset_ids: _Optional[_Iterable[str]] = ..., populations: _Optional[_Iterable[str]] = ..., scope: _Optional[_Union[_allele_pb2.Scope, str]] = ...) -> None: ...

class LookupVariantResponse(_message.Message):
    __slots__ = ("frequencies", "outcomes", "pooled", "pooled_populations")
    FREQUENCIES_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    POOLED_FIELD_NUMBER: _ClassVar[int]
    POOLED_POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    frequencies: _containers.RepeatedCompositeFieldContainer[_allele_pb2.VariantFrequency]
    outcomes: _containers.RepeatedCompositeFieldContainer[_allele_pb2.NodeOutcome]
    pooled: _allele_pb2.AlleleCounts
    pooled_populations: _containers.RepeatedCompositeFieldContainer[_allele_pb2.PopulationFrequency]
    def __init__(self, frequencies: _Optional[_Iterable[_Union[_allele_pb2.VariantFrequency, _Mapping]]] = ..., outcomes: _Optional[_Iterable[_Union[_allele_pb2.NodeOutcome, _Mapping]]] = ..., pooled: _Optional[_Union[_allele_pb2.AlleleCounts, _Mapping]] = ..., pooled_populations: _Optional[_Iterable[_Union[_allele_pb2.PopulationFrequency, _Mapping]]] = ...) -> None: ...

class BatchLookupVariantsRequest(_message.Message):
    __slots__ = ("assembly", "variants", "dataset_ids", "populations", "scope")
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    assembly: _allele_pb2.Assembly
    variants: _containers.RepeatedCompositeFieldContainer[_allele_pb2.Variant]
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    populations: _containers.RepeatedScalarFieldContainer[str]
    scope: _allele_pb2.Scope
    def __init__(self, assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., variants: _Optional[_Iterable[_Union[_allele_pb2.Variant, _Mapping]]] = ..., dataset_ids: _Optional[_Iterable[str]] = ..., populations: _Optional[_Iterable[str]] = ..., scope: _Optional[_Union[_allele_pb2.Scope, str]] = ...) -> None: ...

class VariantLookupResult(_message.Message):
    __slots__ = ("variant", "frequencies", "pooled", "pooled_populations")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    FREQUENCIES_FIELD_NUMBER: _ClassVar[int]
    POOLED_FIELD_NUMBER: _ClassVar[int]
    POOLED_POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    variant: _allele_pb2.Variant
    frequencies: _containers.RepeatedCompositeFieldContainer[_allele_pb2.VariantFrequency]
    pooled: _allele_pb2.AlleleCounts
    pooled_populations: _containers.RepeatedCompositeFieldContainer[_allele_pb2.PopulationFrequency]
    def __init__(self, variant: _Optional[_Union[_allele_pb2.Variant, _Mapping]] = ..., frequencies: _Optional[_Iterable[_Union[_allele_pb2.VariantFrequency, _Mapping]]] = ..., pooled: _Optional[_Union[_allele_pb2.AlleleCounts, _Mapping]] = ..., pooled_populations: _Optional[_Iterable[_Union[_allele_pb2.PopulationFrequency, _Mapping]]] = ...) -> None: ...

class BatchLookupVariantsResponse(_message.Message):
    __slots__ = ("results", "outcomes")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[VariantLookupResult]
    outcomes: _containers.RepeatedCompositeFieldContainer[_allele_pb2.NodeOutcome]
    def __init__(self, results: _Optional[_Iterable[_Union[VariantLookupResult, _Mapping]]] = ..., outcomes: _Optional[_Iterable[_Union[_allele_pb2.NodeOutcome, _Mapping]]] = ...) -> None: ...

class SearchRegionRequest(_message.Message):
    __slots__ = ("assembly", "region", "dataset_ids", "page_size", "page_token", "scope")
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    assembly: _allele_pb2.Assembly
    region: _allele_pb2.Region
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    scope: _allele_pb2.Scope
    def __init__(self, assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., region: _Optional[_Union[_allele_pb2.Region, _Mapping]] = ..., dataset_ids: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., scope: _Optional[_Union[_allele_pb2.Scope, str]] = ...) -> None: ...

class SearchRegionResponse(_message.Message):
    __slots__ = ("frequencies", "next_page_token", "outcomes")
    FREQUENCIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    frequencies: _containers.RepeatedCompositeFieldContainer[_allele_pb2.VariantFrequency]
    next_page_token: str
    outcomes: _containers.RepeatedCompositeFieldContainer[_allele_pb2.NodeOutcome]
    def __init__(self, frequencies: _Optional[_Iterable[_Union[_allele_pb2.VariantFrequency, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[_allele_pb2.NodeOutcome, _Mapping]]] = ...) -> None: ...

class LookupVariantIdRequest(_message.Message):
    __slots__ = ("assembly", "variant_id", "dataset_ids", "populations", "scope", "variants_only")
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_IDS_FIELD_NUMBER: _ClassVar[int]
    POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_ONLY_FIELD_NUMBER: _ClassVar[int]
    assembly: _allele_pb2.Assembly
    variant_id: str
    dataset_ids: _containers.RepeatedScalarFieldContainer[str]
    populations: _containers.RepeatedScalarFieldContainer[str]
    scope: _allele_pb2.Scope
    variants_only: bool
    def __init__(self, assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., variant_id: _Optional[str] = ..., dataset_ids: _Optional[_Iterable[str]] = ..., populations: _Optional[_Iterable[str]] = ..., scope: _Optional[_Union[_allele_pb2.Scope, str]] = ..., variants_only: _Optional[bool] = ...) -> None: ...

class LookupVariantIdResponse(_message.Message):
    __slots__ = ("results", "outcomes", "variant_id")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[VariantLookupResult]
    outcomes: _containers.RepeatedCompositeFieldContainer[_allele_pb2.NodeOutcome]
    variant_id: str
    def __init__(self, results: _Optional[_Iterable[_Union[VariantLookupResult, _Mapping]]] = ..., outcomes: _Optional[_Iterable[_Union[_allele_pb2.NodeOutcome, _Mapping]]] = ..., variant_id: _Optional[str] = ...) -> None: ...

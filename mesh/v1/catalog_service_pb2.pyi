import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mesh.v1 import allele_pb2 as _allele_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Dataset(_message.Message):
    __slots__ = ("id", "title", "description", "assembly", "node_id", "country", "sample_count", "variant_count", "populations", "created_time", "source_sha256", "existence_only")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    VARIANT_COUNT_FIELD_NUMBER: _ClassVar[int]
    POPULATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    description: str
    assembly: _allele_pb2.Assembly
    node_id: str
    country: str
    sample_count: int
    variant_count: int
    populations: _containers.RepeatedScalarFieldContainer[str]
    created_time: _timestamp_pb2.Timestamp
    source_sha256: str
    existence_only: bool
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., node_id: _Optional[str] = ..., country: _Optional[str] = ..., sample_count: _Optional[int] = ..., variant_count: _Optional[int] = ..., populations: _Optional[_Iterable[str]] = ..., created_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_sha256: _Optional[str] = ..., existence_only: _Optional[bool] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("assembly", "page_size", "page_token", "scope")
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    assembly: _allele_pb2.Assembly
    page_size: int
    page_token: str
    scope: _allele_pb2.Scope
    def __init__(self, assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., scope: _Optional[_Union[_allele_pb2.Scope, str]] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "next_page_token", "outcomes")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    next_page_token: str
    outcomes: _containers.RepeatedCompositeFieldContainer[_allele_pb2.NodeOutcome]
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[_allele_pb2.NodeOutcome, _Mapping]]] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("dataset_id", "scope")
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    scope: _allele_pb2.Scope
    def __init__(self, dataset_id: _Optional[str] = ..., scope: _Optional[_Union[_allele_pb2.Scope, str]] = ...) -> None: ...

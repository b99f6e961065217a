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
    __slots__ = ("id", "title", "description", "assembly", "node_id", "country", "sample_count", "variant_count", "populations", "created_time", "source_sha256", "existence_only", "beacon_id", "source", "source_reference", "metadata")
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
    BEACON_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
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
    beacon_id: str
    source: str
    source_reference: str
    metadata: DatasetMetadata
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., assembly: _Optional[_Union[_allele_pb2.Assembly, str]] = ..., node_id: _Optional[str] = ..., country: _Optional[str] = ..., sample_count: _Optional[int] = ..., variant_count: _Optional[int] = ..., populations: _Optional[_Iterable[str]] = ..., created_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_sha256: _Optional[str] = ..., existence_only: _Optional[bool] = ..., beacon_id: _Optional[str] = ..., source: _Optional[str] = ..., source_reference: _Optional[str] = ..., metadata: _Optional[_Union[DatasetMetadata, _Mapping]] = ...) -> None: ...

class DatasetMetadata(_message.Message):
    __slots__ = ("title", "description", "identifier", "publisher", "creators", "contact_point", "hdab", "access_rights", "applicable_legislation", "health_categories", "themes", "keywords", "languages", "status", "conforms_to", "legal_basis", "types", "is_referenced_by", "temporal_start", "temporal_end", "version", "modified_time")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_FIELD_NUMBER: _ClassVar[int]
    CREATORS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    HDAB_FIELD_NUMBER: _ClassVar[int]
    ACCESS_RIGHTS_FIELD_NUMBER: _ClassVar[int]
    APPLICABLE_LEGISLATION_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    THEMES_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFORMS_TO_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    IS_REFERENCED_BY_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_START_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_END_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_TIME_FIELD_NUMBER: _ClassVar[int]
    title: _containers.RepeatedCompositeFieldContainer[LocalizedText]
    description: _containers.RepeatedCompositeFieldContainer[LocalizedText]
    identifier: str
    publisher: Agent
    creators: _containers.RepeatedCompositeFieldContainer[Agent]
    contact_point: ContactPoint
    hdab: Agent
    access_rights: str
    applicable_legislation: _containers.RepeatedScalarFieldContainer[str]
    health_categories: _containers.RepeatedScalarFieldContainer[str]
    themes: _containers.RepeatedScalarFieldContainer[str]
    keywords: _containers.RepeatedCompositeFieldContainer[LocalizedText]
    languages: _containers.RepeatedScalarFieldContainer[str]
    status: str
    conforms_to: _containers.RepeatedScalarFieldContainer[str]
    legal_basis: _containers.RepeatedScalarFieldContainer[str]
    types: _containers.RepeatedScalarFieldContainer[str]
    is_referenced_by: _containers.RepeatedScalarFieldContainer[str]
    temporal_start: str
    temporal_end: str
    version: str
    modified_time: _timestamp_pb2.Timestamp
    def __init__(self, title: _Optional[_Iterable[_Union[LocalizedText, _Mapping]]] = ..., description: _Optional[_Iterable[_Union[LocalizedText, _Mapping]]] = ..., identifier: _Optional[str] = ..., publisher: _Optional[_Union[Agent, _Mapping]] = ..., creators: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., contact_point: _Optional[_Union[ContactPoint, _Mapping]] = ..., hdab: _Optional[_Union[Agent, _Mapping]] = ..., access_rights: _Optional[str] = ..., applicable_legislation: _Optional[_Iterable[str]] = ..., health_categories: _Optional[_Iterable[str]] = ..., themes: _Optional[_Iterable[str]] = ..., keywords: _Optional[_Iterable[_Union[LocalizedText, _Mapping]]] = ..., languages: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., conforms_to: _Optional[_Iterable[str]] = ..., legal_basis: _Optional[_Iterable[str]] = ..., types: _Optional[_Iterable[str]] = ..., is_referenced_by: _Optional[_Iterable[str]] = ..., temporal_start: _Optional[str] = ..., temporal_end: _Optional[str] = ..., version: _Optional[str] = ..., modified_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LocalizedText(_message.Message):
    __slots__ = ("text", "language")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    language: str
    def __init__(self, text: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("name", "type", "email", "homepage", "contact_point")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    HOMEPAGE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    name: _containers.RepeatedCompositeFieldContainer[LocalizedText]
    type: str
    email: str
    homepage: str
    contact_point: ContactPoint
    def __init__(self, name: _Optional[_Iterable[_Union[LocalizedText, _Mapping]]] = ..., type: _Optional[str] = ..., email: _Optional[str] = ..., homepage: _Optional[str] = ..., contact_point: _Optional[_Union[ContactPoint, _Mapping]] = ...) -> None: ...

class ContactPoint(_message.Message):
    __slots__ = ("name", "email", "url")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    url: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

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

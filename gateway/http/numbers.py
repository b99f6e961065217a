"""Integer query parameters read by :func:`mesh.model.notation.parse_count` (ASCII digits only).

``Annotated[int, Query(...)]`` alone lets pydantic read ``"+5"``, ``"5_0"`` and
``"5.0"``; ``Annotated[int, Query(...), ASCII_COUNT]`` keeps the OpenAPI type ``integer``
with its bounds and FastAPI's 400 naming the parameter, and every numeric parameter,
Beacon's and ``/v1``'s, goes through one rule. (``ASCII_COUNT`` after ``Query``: before
it, FastAPI writes the bounds into the OpenAPI schema as ``ge``/``le``, not
``minimum``/``maximum``.)
"""

from __future__ import annotations

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from mesh.errors import InvalidArgumentError
from mesh.model.notation import parse_count


def _count(value: object) -> int:
    # A validation error: the problem handler makes it a 400 "<parameter>: <message>".
    try:
        return parse_count(value, "value")
    except InvalidArgumentError as error:
        raise PydanticCustomError("count", error.message.removeprefix("value ")) from None


#: Validator of a non-negative integer parameter: ``Annotated[int, Query(...), ASCII_COUNT]``.
ASCII_COUNT = BeforeValidator(_count)

"""LLB1, the compact binary encoding of answers with large numeric grids (docs/API.md).

A blob is `LLB1`, a uint32 header length, a JSON header padded to 8 bytes, then the arrays,
each 8-byte aligned and little-endian. The header is the JSON answer with each array field
replaced by `{"$array": {"dtype", "shape", "offset"}}`. The stream variant wraps progress,
the answer and errors in records: one kind byte, a uint32 length, the payload.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

BINARY = "application/x-losslab-binary"
STREAM = "application/x-losslab-stream"
BINARY_TYPES = (BINARY, STREAM)
MAGIC = b"LLB1"
DTYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "int8": "<i1"}
INT_NULL = -1
"""Where the JSON answer has null, an int array holds -1 and a float array NaN."""


def dumps(payload: Any) -> str:
    """Strict, compact JSON: the text form of every answer."""
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


def wants_binary(accept: str | None) -> bool:
    """Whether an Accept header asks for LLB1 (explicitly: JSON stays the default)."""
    return accept is not None and BINARY in accept


def _array(values: Any, dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        values = _nulls_to(values, INT_NULL)
    return np.ascontiguousarray(np.asarray(values, dtype=DTYPES[dtype]))


def _nulls_to(values: Any, fill: int) -> Any:
    if isinstance(values, list):
        return [_nulls_to(v, fill) for v in values]
    return fill if values is None else values


def _pad(size: int) -> int:
    return -size % 8


def pack(answer: Mapping[str, Any], fields: Mapping[str, str]) -> bytes:
    """`answer` as an LLB1 blob: each top-level field named in `fields` (name → dtype) becomes
    an array; null becomes NaN in float arrays and -1 in int arrays."""
    arrays = {name: _array(answer[name], dtype) for name, dtype in fields.items()}
    header = {key: value for key, value in answer.items() if key not in fields}
    # The offsets depend on the header's length, which depends on the offsets: lay the data
    # out relative to the data section, then fix the section's start with a stable width.
    relative, layout = 0, {}
    for name, array in arrays.items():
        layout[name] = relative
        relative += array.nbytes + _pad(array.nbytes)
    start = 8
    while True:
        for name, dtype in fields.items():
            header[name] = {
                "$array": {
                    "dtype": dtype,
                    "shape": list(arrays[name].shape),
                    "offset": start + layout[name],
                }
            }
        text = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
        needed = 8 + len(text)
        if needed <= start:
            break
        start = needed + _pad(needed)  # grows until the offsets' digits fit
    text += b" " * (start - 8 - len(text))
    parts = [MAGIC, struct.pack("<I", len(text)), text]
    for array in arrays.values():
        parts += [array.tobytes(), b"\0" * _pad(array.nbytes)]
    return b"".join(parts)


def record(kind: bytes, payload: bytes) -> bytes:
    """One record of an LLB1 stream: kind (b"p", b"d" or b"e"), length, payload."""
    return kind + struct.pack("<I", len(payload)) + payload


def json_record(kind: bytes, payload: Any) -> bytes:
    return record(kind, dumps(payload).encode())


def unpack(blob: bytes) -> dict[str, Any]:
    """The answer of an LLB1 blob, arrays as numpy arrays (for tests and Python clients)."""
    if blob[:4] != MAGIC:
        raise ValueError("not an LLB1 blob")
    (size,) = struct.unpack_from("<I", blob, 4)
    answer: dict[str, Any] = json.loads(blob[8 : 8 + size])
    for key, value in answer.items():
        if isinstance(value, dict) and "$array" in value:
            ref = value["$array"]
            dtype = np.dtype(DTYPES[ref["dtype"]])
            count = int(np.prod(ref["shape"]))
            flat = np.frombuffer(blob, dtype=dtype, count=count, offset=ref["offset"])
            answer[key] = flat.reshape(ref["shape"])
    return answer

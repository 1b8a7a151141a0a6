"""The binary tensor data extension (Triton's, which KServe speaks): raw tensors in and out.

A request body may be a JSON header of ``Inference-Header-Content-Length`` bytes followed by the
raw bytes of every input whose ``parameters.binary_data_size`` says how many are its own, in the
order of ``inputs``. Fixed-size datatypes are little-endian and row-major; a BYTES tensor is each
element as a 4-byte little-endian length followed by that many bytes. A raw tensor becomes the
values a JSON body would carry, so the codec checks both alike; a floating-point NaN is a missing
value there (a raw tensor has no null). Outputs asked for with ``binary_data`` (or the request's
``binary_data_output``) go back the same way, each output's ``binary_data_size`` in the header.
The gRPC service reads ``raw_input_contents`` and writes ``raw_output_contents`` with the same
functions.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Final

import numpy as np

from components._shared.errors import expected_got
from serving.codec.json_io import RequestError, describe, dump_json, parse_json

HEADER_LENGTH: Final = "inference-header-content-length"  # the HTTP header (lower case)
BINARY_DATA_SIZE: Final = "binary_data_size"
# Little-endian numpy dtypes of the fixed-size V2 datatypes.
RAW_DTYPES: Final[dict[str, np.dtype[Any]]] = {
    "BOOL": np.dtype(np.uint8),  # one byte per element; any non-zero byte is true
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
_LENGTH: Final = struct.Struct("<I")


# --- requests -----------------------------------------------------------------------------------
def split_request(body: bytes, header_length: int) -> Any:
    """A binary request body as the JSON request it stands for: raw tensors become ``data``."""
    if not 0 < header_length <= len(body):
        raise RequestError(
            expected_got(
                "Inference-Header-Content-Length header",
                f"a length between 1 and the body's {len(body)} bytes",
                header_length,
            )
        )
    request = parse_json(body[:header_length])
    inputs = request.get("inputs") if type(request) is dict else None
    if type(inputs) is not list:
        return request  # the codec names what is wrong with it
    offset = header_length
    for j, tensor in enumerate(inputs):
        size = _binary_size(j, tensor)
        if size is None:
            continue
        where = f"inputs[{j}] ({tensor.get('name')!r})"
        if offset + size > len(body):
            raise RequestError(
                expected_got(
                    f"{where}.parameters.binary_data_size",
                    f"at most the {len(body) - offset} bytes left in the body",
                    size,
                )
            )
        raw = body[offset : offset + size]
        tensor["data"] = tensor_values(where, tensor.get("datatype"), tensor.get("shape"), raw)
        offset += size
    if offset != len(body):
        raise RequestError(
            expected_got(
                "request body",
                f"{offset} bytes (the JSON header and every input's binary_data_size)",
                f"{len(body)} bytes ({len(body) - offset} bytes that no input claims)",
            )
        )
    return request


def _binary_size(j: int, tensor: Any) -> int | None:
    """The raw byte count of ``inputs[j]``, taken out of its parameters; None for JSON data."""
    parameters = tensor.get("parameters") if type(tensor) is dict else None
    if type(parameters) is not dict or BINARY_DATA_SIZE not in parameters:
        return None
    where = f"inputs[{j}] ({tensor.get('name')!r})"
    size = parameters.pop(BINARY_DATA_SIZE)
    if not parameters:
        del tensor["parameters"]  # as a JSON tensor would come, so the fast path takes it
    if type(size) is not int or size < 0:
        raise RequestError(
            expected_got(f"{where}.parameters.binary_data_size", "a byte count", describe(size))
        )
    if "data" in tensor:
        raise RequestError(
            expected_got(where, "either data or parameters.binary_data_size", "both")
        )
    return size


def tensor_values(where: str, datatype: Any, shape: Any, raw: bytes) -> list[Any]:
    """The values of one raw tensor, as JSON would carry them (NaN read as null)."""
    count = _element_count(where, shape)
    if datatype == "BYTES":
        values: list[Any] = bytes_elements(where, raw)
        if len(values) != count:
            raise RequestError(
                expected_got(
                    f"{where}.data",
                    f"{count} BYTES elements for shape {shape}",
                    f"{len(values)} (mismatched shapes)",
                )
            )
        return values
    dtype = RAW_DTYPES.get(datatype) if type(datatype) is str else None
    if dtype is None:
        raise RequestError(
            expected_got(
                f"{where}.datatype", f"one of {sorted([*RAW_DTYPES, 'BYTES'])}", describe(datatype)
            )
        )
    if len(raw) != count * dtype.itemsize:
        raise RequestError(
            expected_got(
                f"{where}.parameters.binary_data_size",
                f"{count * dtype.itemsize} bytes ({count} {datatype} values for shape {shape})",
                f"{len(raw)} bytes (mismatched shapes)",
            )
        )
    array = np.frombuffer(raw, dtype=dtype)
    if datatype == "BOOL":
        return (array != 0).tolist()
    values = array.tolist()
    if dtype.kind == "f" and np.isnan(array).any():
        values = [None if math.isnan(v) else v for v in values]
    return values


def _element_count(where: str, shape: Any) -> int:
    """The number of elements a tensor of ``shape`` holds."""
    if type(shape) is not list or any(type(d) is not int or d < 0 for d in shape):
        raise RequestError(
            expected_got(f"{where}.shape", "a list of non-negative whole numbers", describe(shape))
        )
    return math.prod(shape)


def bytes_elements(where: str, raw: bytes) -> list[str]:
    """The UTF-8 text elements of a raw BYTES tensor (4-byte little-endian length, then bytes)."""
    values: list[str] = []
    offset, end = 0, len(raw)
    while offset < end:
        if offset + 4 > end:
            raise RequestError(
                expected_got(f"{where}.data", "a 4-byte length before each element", "a cut one")
            )
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        if offset + length > end:
            raise RequestError(
                expected_got(
                    f"{where}.data[{len(values)}]",
                    f"{length} bytes, as its length says",
                    f"{end - offset} bytes",
                )
            )
        try:
            values.append(raw[offset : offset + length].decode("utf-8"))
        except UnicodeDecodeError:
            raise RequestError(
                expected_got(f"{where}.data[{len(values)}]", "UTF-8 text", "other bytes")
            ) from None
        offset += length
    return values


# --- responses ----------------------------------------------------------------------------------
def encode_response(response: dict[str, Any], binary: frozenset[str]) -> tuple[bytes, int | None]:
    """Response bytes, and the JSON header's length when some outputs go as raw bytes."""
    if not binary:
        return dump_json(response), None
    chunks = []
    for output in response["outputs"]:
        if output["name"] in binary:
            raw = output_bytes(output["datatype"], output.pop("data"))
            output["parameters"] = {**output.get("parameters", {}), BINARY_DATA_SIZE: len(raw)}
            chunks.append(raw)
    header = dump_json(response)
    return b"".join([header, *chunks]), len(header)


def output_bytes(datatype: str, data: list[Any]) -> bytes:
    """One output's values as raw tensor bytes."""
    if datatype == "BYTES":
        return bytes_tensor(data)
    return np.asarray(data, dtype=RAW_DTYPES[datatype]).tobytes()


def bytes_tensor(values: list[str]) -> bytes:
    """Text elements as a raw BYTES tensor: each a 4-byte little-endian length, then UTF-8."""
    parts = []
    for value in values:
        encoded = value.encode("utf-8")
        parts.append(_LENGTH.pack(len(encoded)))
        parts.append(encoded)
    return b"".join(parts)

"""The V2 gRPC messages (KServe's ``grpc_predict_v2.proto``) as the V2 JSON bodies the codec reads.

A ``ModelInferRequest`` becomes the dict a REST client would have sent: typed ``contents`` or
``raw_input_contents`` (the binary layout of :mod:`serving.codec.binary`, all inputs or none) to
``data``, parameters to plain values. So gRPC requests are checked by the same codec, with the
same messages. The response dict goes back as typed ``contents``, or as ``raw_output_contents``
when the request came raw (as KServe and Triton answer; Triton's client reads only those).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from components._shared.errors import expected_got
from serving.codec import RequestError, binary

# The InferTensorContents field that carries each datatype (FP16 has none: raw only).
CONTENTS_FIELD: Final = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def parameters_dict(parameters: Mapping[str, pb.InferParameter]) -> dict[str, Any]:
    """A protobuf parameter map as plain values (an unset or unknown choice is None)."""
    out = {}
    for key, parameter in parameters.items():
        choice = parameter.WhichOneof("parameter_choice")
        out[key] = getattr(parameter, choice) if choice else None
    return out


def request_body(request: pb.ModelInferRequest) -> dict[str, Any]:
    """A ModelInferRequest as the V2 JSON request it stands for."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise RequestError(
            expected_got(
                "raw_input_contents",
                f"one entry per input ({len(request.inputs)})",
                f"{len(raw)} entries",
            )
        )
    inputs = []
    for j, tensor in enumerate(request.inputs):
        where = f"inputs[{j}] ({tensor.name!r})"
        shape = list(tensor.shape)
        if raw:
            if tensor.HasField("contents"):
                raise RequestError(
                    expected_got(f"{where}.contents", "none with raw_input_contents", "contents")
                )
            data = binary.tensor_values(where, tensor.datatype, shape, raw[j])
        else:
            data = contents_values(where, tensor.datatype, tensor.contents)
        item: dict[str, Any] = {"name": tensor.name, "shape": shape, "datatype": tensor.datatype}
        item["data"] = data
        if tensor.parameters:
            item["parameters"] = parameters_dict(tensor.parameters)
        inputs.append(item)
    body: dict[str, Any] = {"inputs": inputs}
    if request.id:
        body["id"] = request.id
    if request.parameters:
        body["parameters"] = parameters_dict(request.parameters)
    if request.outputs:
        body["outputs"] = [{"name": output.name} for output in request.outputs]
    return body


def contents_values(where: str, datatype: str, contents: pb.InferTensorContents) -> list[Any]:
    """The values of typed tensor contents, as JSON would carry them (NaN read as null)."""
    field = CONTENTS_FIELD.get(datatype)
    if field is None:
        raise RequestError(
            expected_got(
                f"{where}.datatype",
                f"one of {sorted(CONTENTS_FIELD)} (FP16 only in raw_input_contents)",
                repr(datatype),
            )
        )
    values = list(getattr(contents, field))
    if datatype == "BYTES":
        try:
            return [value.decode("utf-8") for value in values]
        except UnicodeDecodeError:
            raise RequestError(
                expected_got(f"{where}.contents", "UTF-8 text", "other bytes")
            ) from None
    if datatype in ("FP32", "FP64"):
        return [None if math.isnan(v) else v for v in values]
    return values


def _set_parameter(parameter: pb.InferParameter, value: Any) -> None:
    """One plain value into a protobuf parameter (KServe's proto: bool, int64 or string)."""
    if type(value) is bool:
        parameter.bool_param = value
    elif type(value) is int:
        parameter.int64_param = value
    else:
        parameter.string_param = str(value)


def response_message(response: dict[str, Any], raw: bool) -> pb.ModelInferResponse:
    """The V2 response dict as a ModelInferResponse, raw outputs when ``raw``."""
    message = pb.ModelInferResponse(model_name=response["model_name"], id=response["id"])
    for key, value in response.get("parameters", {}).items():
        _set_parameter(message.parameters[key], value)
    for output in response["outputs"]:
        tensor = message.outputs.add(
            name=output["name"], datatype=output["datatype"], shape=output["shape"]
        )
        for key, value in output.get("parameters", {}).items():
            _set_parameter(tensor.parameters[key], value)
        if raw:
            message.raw_output_contents.append(binary.output_bytes(tensor.datatype, output["data"]))
        elif tensor.datatype == "BYTES":
            tensor.contents.bytes_contents.extend(v.encode("utf-8") for v in output["data"])
        else:
            getattr(tensor.contents, CONTENTS_FIELD[tensor.datatype]).extend(output["data"])
    return message

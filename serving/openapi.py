"""The runtime's OpenAPI 3.0 document, built from the bundle's schema (served at /openapi.json).

Clients and the fuzz tests read it: the V1 instance object lists the model's input columns with
their JSON types, the V2 request follows the Open Inference Protocol with the column names and
datatypes the model accepts. Paths carry the model name literally, so a generated request reaches
the model instead of a 404.
"""

from __future__ import annotations

from typing import Any

from components._shared.oip import OUTPUTS, V1_CLASS_PROBABILITIES
from serving.codec import ACCEPTED_DATATYPES, Codec

_VALUE_SCHEMA: dict[str, dict[str, Any]] = {
    "numeric": {"type": "number", "nullable": True},
    "integer": {"type": "integer", "nullable": True},
    "boolean": {"nullable": True, "oneOf": [{"type": "boolean"}, {"type": "string"}]},
    "categorical": {"type": "string", "nullable": True},
    "datetime": {"type": "string", "nullable": True},
    "identifier": {"nullable": True},
}
_READY = {"type": "object", "properties": {"ready": {"type": "boolean"}}}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "OK", **_json(ok)}}
    for status in errors:
        out[str(status)] = {"description": "error", **_json(_ERROR)}
    return out


def build_openapi(codec: Codec, model_name: str, version: str) -> dict[str, Any]:
    """The OpenAPI document of a runtime serving ``codec``'s model as ``model_name``."""
    model = f"/v2/models/{model_name}"
    v1 = f"/v1/models/{model_name}"
    return {
        "openapi": "3.0.3",
        "info": {"title": f"kfp-tabular runtime: {model_name}", "version": version},
        "paths": {
            "/v2/health/live": _get("liveness", {"type": "object"}),
            "/v2/health/ready": _get("readiness", _READY),
            "/v2": _get("server metadata", {"type": "object"}),
            model: _get("model metadata (inputs from the bundle schema)", _metadata(), 404),
            f"{model}/ready": _get("model readiness", _READY, 404),
            f"{model}/infer": _post(
                "Open Inference Protocol V2 inference", _v2_request(codec), _v2_response()
            ),
            v1: _get("V1 model readiness", _READY, 404),
            f"{v1}:predict": _post("V1 prediction", _v1_request(codec), _v1_response()),
        },
    }


def _get(summary: str, ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": _responses(ok, *errors)}}


def _post(summary: str, request: dict[str, Any], ok: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, **_json(request)},
            "responses": _responses(ok, 400, 413),
        }
    }


# --- V1 -------------------------------------------------------------------------------------
def _v1_request(codec: Codec) -> dict[str, Any]:
    """``{"instances": [...]}``: instance objects with the model's input columns."""
    columns = {}
    for name in codec.inputs:
        kind = codec.rules[name].kind
        columns[name] = dict(_VALUE_SCHEMA[kind])
        if kind == "numeric" and codec.rules[name].stored_as_text:
            columns[name] = {"nullable": True, "oneOf": [{"type": "number"}, {"type": "string"}]}
    instance = {
        "type": "object",
        "required": list(codec.inputs),
        "properties": columns,
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["instances"],
        "additionalProperties": False,
        "properties": {
            "instances": {"type": "array", "minItems": 1, "items": instance},
            "parameters": {
                "type": "object",
                "properties": {V1_CLASS_PROBABILITIES: {"type": "boolean"}},
            },
        },
    }


def _v1_response() -> dict[str, Any]:
    """``{"predictions": [...]}``."""
    return {
        "type": "object",
        "required": ["predictions"],
        "properties": {"predictions": {"type": "array", "items": {"type": "object"}}},
    }


# --- V2 -------------------------------------------------------------------------------------
def _v2_request(codec: Codec) -> dict[str, Any]:
    """An OIP inference request: one tensor per input column, with the datatypes it accepts."""
    return {
        "type": "object",
        "required": ["inputs"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object", "properties": {"content_type": {"type": "string"}}},
            "inputs": {
                "type": "array",
                "minItems": 1,
                "items": {"oneOf": [_v2_input(codec, name) for name in codec.inputs]},
            },
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "enum": list(OUTPUTS)}},
                },
            },
        },
    }


def _v2_input(codec: Codec, name: str) -> dict[str, Any]:
    """The input tensor of column ``name``."""
    kind = codec.rules[name].kind
    return {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "enum": [name]},
            "shape": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
            "datatype": {"type": "string", "enum": sorted(ACCEPTED_DATATYPES[kind])},
            "data": {"type": "array", "items": _VALUE_SCHEMA[kind]},
        },
    }


def _tensor() -> dict[str, Any]:
    """A tensor's description (metadata), without its data."""
    return {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
    }


def _v2_response() -> dict[str, Any]:
    """An OIP inference response: output tensors with their data."""
    tensor = _tensor()
    return {
        "type": "object",
        "required": ["model_name", "outputs"],
        "properties": {
            "model_name": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {
                "type": "array",
                "items": {**tensor, "required": [*tensor["required"], "data"]},
            },
        },
    }


def _metadata() -> dict[str, Any]:
    """V2 model metadata: name, platform, and the input and output tensors."""
    tensor = _tensor()
    return {
        "type": "object",
        "required": ["name", "platform", "inputs", "outputs"],
        "properties": {
            "name": {"type": "string"},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": tensor},
            "outputs": {"type": "array", "items": tensor},
        },
    }

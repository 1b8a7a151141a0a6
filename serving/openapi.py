"""The runtime's OpenAPI 3.0 document, built from the bundle's schema (served at /openapi.json).

Clients and the fuzz tests read it: the V1 instance object lists the model's input columns with
their JSON types, the V2 request follows the Open Inference Protocol with the column names and
datatypes the model accepts. Paths carry the model name literally, so a generated request reaches
the model instead of a 404.
"""

from __future__ import annotations

from typing import Any

from serving.codec import (
    ACCEPTED_DATATYPES,
    OUTPUTS,
    V1_CLASS_PROBABILITIES,
    Codec,
)

_VALUE_SCHEMA: dict[str, dict[str, Any]] = {
    "numeric": {"type": "number", "nullable": True},
    "integer": {"type": "integer", "nullable": True},
    "boolean": {"nullable": True, "oneOf": [{"type": "boolean"}, {"type": "string"}]},
    "categorical": {"type": "string", "nullable": True},
    "datetime": {"type": "string", "nullable": True},
    "identifier": {"nullable": True},
}
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
    v1_request = {
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
    v1_response = {
        "type": "object",
        "required": ["predictions"],
        "properties": {"predictions": {"type": "array", "items": {"type": "object"}}},
    }
    tensor_inputs = []
    for name in codec.inputs:
        kind = codec.rules[name].kind
        tensor_inputs.append(
            {
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
        )
    v2_request = {
        "type": "object",
        "required": ["inputs"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object", "properties": {"content_type": {"type": "string"}}},
            "inputs": {"type": "array", "minItems": 1, "items": {"oneOf": tensor_inputs}},
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
    tensor = {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
    }
    v2_response = {
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
    metadata = {
        "type": "object",
        "required": ["name", "platform", "inputs", "outputs"],
        "properties": {
            "name": {"type": "string"},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": tensor},
            "outputs": {"type": "array", "items": tensor},
        },
    }
    ready = {"type": "object", "properties": {"ready": {"type": "boolean"}}}

    def get(summary: str, ok: dict[str, Any], *errors: int) -> dict[str, Any]:
        return {"get": {"summary": summary, "responses": _responses(ok, *errors)}}

    def post(summary: str, request: dict[str, Any], ok: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "requestBody": {"required": True, **_json(request)},
                "responses": _responses(ok, 400, 413),
            }
        }

    model = f"/v2/models/{model_name}"
    return {
        "openapi": "3.0.3",
        "info": {"title": f"kfp-tabular runtime: {model_name}", "version": version},
        "paths": {
            "/v2/health/live": get("liveness", {"type": "object"}),
            "/v2/health/ready": get("readiness", ready),
            "/v2": get("server metadata", {"type": "object"}),
            model: get("model metadata (inputs from the bundle schema)", metadata, 404),
            f"{model}/ready": get("model readiness", ready, 404),
            f"{model}/infer": post("Open Inference Protocol V2 inference", v2_request, v2_response),
            f"/v1/models/{model_name}": get("V1 model readiness", ready, 404),
            f"/v1/models/{model_name}:predict": post("V1 prediction", v1_request, v1_response),
        },
    }

"""JSON in and out: request bodies parsed, responses dumped, client mistakes named as errors."""

from __future__ import annotations

from typing import Any

import orjson

from components._shared.errors import DataError, expected_got


class RequestError(DataError):
    """A client's mistake: answered with ``status`` (400) and the message, never a 500."""

    status = 400


class BodyTooLarge(RequestError):
    """The request body is over the server's configured limit (HTTP 413)."""

    status = 413


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body; RequestError saying what is wrong with it."""
    if not body:
        raise RequestError("request body: expected a JSON object, got an empty body")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if b"NaN" in body or b"Infinity" in body or "infinity" in str(exc):
            hint = " (NaN and Infinity are not JSON: send null for a missing value)"
        raise RequestError(f"request body: expected JSON, got invalid JSON: {exc}{hint}") from None


def dump_json(obj: Any) -> bytes:
    """JSON bytes of a response (orjson: numpy scalars and arrays included)."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)


def json_object(value: Any, where: str) -> dict[str, Any]:
    """An optional JSON object field (``parameters``): ``{}`` when absent."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise RequestError(expected_got(where, "an object", json_kind(value)))
    return value


def describe(value: Any) -> str:
    """A JSON value for messages: its type and (shortened) repr, or ``null``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}" if value is not None else "null"


def json_kind(value: Any) -> str:
    """A JSON value's kind for messages: ``list``, ``object``, ``null``, ``string``..."""
    if value is None:
        return "null (absent)"
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return names.get(type(value), f"a {type(value).__name__}")

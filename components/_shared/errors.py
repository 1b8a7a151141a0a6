"""Errors raised on bad input, shared by every entry point.

Each error names what was wrong (column, row, field or file), what was expected and what was
found, so the message alone tells a user how to fix their input. Entry points map them to a
non-zero exit (components, CLI) or a 4xx (serving).
"""

from __future__ import annotations


class KfpTabularError(Exception):
    """Base class of every error this project raises on purpose."""


class DataError(KfpTabularError):
    """The input data cannot be used: unreadable, empty, or failing validation checks."""


class DataReadError(DataError):
    """A URI could not be read (missing, unreadable, corrupt or of an unknown format)."""


class ValidationFailed(DataError):
    """Data validation found errors; ``issues`` holds every one, not only the first."""

    def __init__(self, issues: list[str]) -> None:
        self.issues = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"data validation failed with {len(self.issues)} error(s):\n{lines}")


class ContractMismatch(ValidationFailed):
    """The data does not match the expected schema (data contract) from an earlier run."""


class ConfigError(KfpTabularError):
    """A parameter has the wrong type or value; the message names the parameter."""


class BundleError(KfpTabularError):
    """A model bundle is malformed, incomplete, or fails its sha256 verification."""


class NotFittedError(KfpTabularError):
    """An object that must be fitted first (a featurizer) was used before ``fit``."""


def expected_got(what: str, expected: object, got: object) -> str:
    """Uniform ``<what>: expected <expected>, got <got>`` wording for error messages."""
    return f"{what}: expected {expected}, got {got}"

"""The champion a ``train_and_rollout`` run compares against, resolved once before it starts.

Compare ranks the champion on the same rows as the candidates, the gate judges the challenger
against it and deploy keeps it as the stable side: all three must see the same bundle. So the
registry is read once, here, before the run is created (``kfp-tabular run`` and ``submit``), and
the run receives a plain bundle URI in ``champion_uri``:

- a plain ``champion_uri`` (local path, gs://) is used as given;
- ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` is resolved to that version's bundle;
- "" with ``registered_model_name`` and a tracking URI (``tracking_uri`` or
  ``MLFLOW_TRACKING_URI``) becomes the registry's ``champion`` of that model, or stays "" (a
  first deployment) when there is none yet.

:func:`resolve` says where the champion came from, for the run's summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components._shared import registry, tracking
from components._shared.errors import ConfigError
from kfp_tabular.errors import CliError


@dataclass(frozen=True)
class Champion:
    """The champion URI a run receives and where it came from (one line for a person)."""

    uri: str
    source: str


def resolve(arguments: dict[str, Any], defaults: dict[str, Any]) -> Champion:
    """The run's champion from its arguments (over the pipeline's defaults).

    Raises:
        CliError: a ``models:/`` URI without a tracking URI, or naming what does not exist,
            or a registry that does not answer.
    """
    given = str(arguments.get("champion_uri", defaults.get("champion_uri", "")) or "")
    configured = str(arguments.get("tracking_uri", defaults.get("tracking_uri", "")) or "")
    name = str(arguments.get("registered_model_name", defaults.get("registered_model_name", "")))
    if given and not given.startswith(registry.MODELS_SCHEME):
        return Champion(given, "given (champion_uri)")
    if not given and not registry.enabled(configured, name):
        return Champion("", "none (first deployment; no registered model to read a champion from)")
    try:
        return _from_registry(given, name, configured)
    except ConfigError as error:
        raise CliError(f"champion_uri: {error}") from None
    except Exception as error:  # MlflowException, connection errors: name the server
        raise CliError(
            f"champion_uri: cannot read the model registry at {tracking.tracking_uri(configured)}"
            f": {type(error).__name__}: {error}"
        ) from None


def _from_registry(given: str, name: str, configured: str) -> Champion:
    """Resolve ``given`` (a models:/ URI) or the champion alias of ``name``."""
    found = registry.open_registry(configured)
    if found is None:  # a models:/ URI with tracking off
        raise ConfigError(
            f"{given} names the model registry, but no tracking URI is configured "
            "(tracking_uri or MLFLOW_TRACKING_URI)"
        )
    uri = given or f"{registry.MODELS_SCHEME}{name}@{registry.ALIAS_CHAMPION}"
    model, alias, version = registry.parse_models_uri(uri)
    ref = (
        found.version_by_alias(model, alias)
        if alias
        else found.client.get_model_version(model, version)
    )
    if ref is None:
        if given:
            raise ConfigError(f"{given}: registered model {model!r} has no alias {alias!r}")
        return Champion("", f"none (registered model {name!r} has no champion yet)")
    bundle = found.resolve(f"{registry.MODELS_SCHEME}{model}/{ref.version}")
    return Champion(bundle, f"registry: {uri} = version {ref.version}")


def apply(arguments: dict[str, Any], defaults: dict[str, Any]) -> tuple[dict[str, Any], Champion]:
    """``arguments`` with ``champion_uri`` resolved (set only when it differs from what was
    given), and the champion; for the run summary."""
    champion = resolve(arguments, defaults)
    given = arguments.get("champion_uri", defaults.get("champion_uri", ""))
    if champion.uri == given:
        return arguments, champion
    return {**arguments, "champion_uri": champion.uri}, champion


def _declared_defaults(declared: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The defaults of a package's parameters when it takes a champion and a registered model."""
    if not {"champion_uri", "registered_model_name"} <= set(declared):
        return None
    return {name: spec.get("defaultValue", "") for name, spec in declared.items()}


def for_package(
    arguments: dict[str, Any], declared: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], Champion | None]:
    """``submit``: :func:`apply` for a package that takes ``champion_uri`` and
    ``registered_model_name`` (train_and_rollout); other packages' arguments unchanged."""
    defaults = _declared_defaults(declared)
    if defaults is None:
        return arguments, None
    return apply(arguments, defaults)


def schedule_note(arguments: dict[str, Any], declared: dict[str, dict[str, Any]]) -> str | None:
    """``schedule``: a recurring run is not given a champion read now, which every later run
    would keep; say so when the registry would have been read."""
    defaults = _declared_defaults(declared)
    if defaults is None:
        return None
    given = str(arguments.get("champion_uri", defaults.get("champion_uri", "")) or "")
    configured = str(arguments.get("tracking_uri", defaults.get("tracking_uri", "")) or "")
    name = str(arguments.get("registered_model_name", defaults.get("registered_model_name", "")))
    if given or not registry.enabled(configured, name):
        return None
    return (
        f"champion_uri is empty: each scheduled run compares against no champion (the registry's "
        f"champion of {name!r} is read by `kfp-tabular run` and `submit`, once per run; a schedule "
        "created now would keep today's for every run); give champion_uri to compare against a "
        "fixed bundle"
    )

"""The fitted feature transform as pure JSON data, applied by one vectorised numpy implementation.

Training, evaluation and the KServe runtime all import :class:`Featurizer` from here:

- :mod:`.featurizer`: the :class:`Featurizer` (fit, transform, JSON);
- :mod:`.lookup`: the one sorted lookup table of every boolean and categorical column;
- :mod:`.values`: raw values (typed arrays or JSON values) to numbers, text and datetimes;
- :mod:`.windows`: per-entity rolling aggregates over earlier rows only;
- :mod:`.specs`: checks of the interaction and rolling specs against the schema.
"""

from components._shared.errors import NotFittedError
from components._shared.featurizer.featurizer import (
    FEATURIZER_FORMAT_VERSION,
    MISSING_BUCKET,
    RATIO_EPS,
    UNKNOWN_BUCKET,
    Featurizer,
)
from components._shared.featurizer.specs import INTERACTION_OPS
from components._shared.featurizer.windows import AGGREGATES

__all__ = [
    "AGGREGATES",
    "FEATURIZER_FORMAT_VERSION",
    "INTERACTION_OPS",
    "MISSING_BUCKET",
    "RATIO_EPS",
    "UNKNOWN_BUCKET",
    "Featurizer",
    "NotFittedError",
]

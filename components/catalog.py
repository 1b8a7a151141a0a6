"""The KFP components of kfp-tabular, re-exported for pipelines and users.

Importing this module needs kfp; the executors and ``components._shared`` do not. Usage:
``from components.catalog import validate, featurize, train, compare``.
"""

from components.compare.component import compare
from components.featurize.component import featurize
from components.train.component import train
from components.validate.component import validate

__all__ = ["compare", "featurize", "train", "validate"]

"""The KFP components of kfp-tabular, re-exported for pipelines and users.

Importing this module needs kfp; the executors and ``components._shared`` do not. Usage:
``from components.catalog import validate, featurize, train, compare, gate``.
"""

from components.batch_predict.component import batch_predict
from components.compare.component import compare
from components.deploy.component import deploy
from components.drift.component import drift
from components.featurize.component import featurize
from components.gate.component import gate
from components.rollout.component import rollout
from components.shadow.component import shadow
from components.train.component import train
from components.validate.component import validate

__all__ = [
    "batch_predict",
    "compare",
    "deploy",
    "drift",
    "featurize",
    "gate",
    "rollout",
    "shadow",
    "train",
    "validate",
]

"""train: fit one candidate of the model matrix and write its model bundle.

``config`` declares the parameters, ``executor`` does the work (``run(inputs, outputs, config)``);
``matrix`` holds the default candidates and their check.
"""

from components.train.matrix import DEFAULT_MODEL_MATRIX, check_candidate, check_matrix

__all__ = ["DEFAULT_MODEL_MATRIX", "check_candidate", "check_matrix"]

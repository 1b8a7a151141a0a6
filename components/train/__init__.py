"""train: fit one candidate of the model matrix and write its model bundle.

``executor.run`` does the work; ``matrix`` holds the default candidates and their check.
"""

from components.train.matrix import DEFAULT_MODEL_MATRIX, check_candidate, check_matrix

__all__ = ["DEFAULT_MODEL_MATRIX", "check_candidate", "check_matrix"]

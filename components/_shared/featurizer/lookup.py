"""One sorted lookup table for every boolean and categorical column: one ``searchsorted`` a call.

Each column's keys carry a one-character prefix of their own, so a (rows, columns) block of text
is resolved in one vectorised pass however many columns it has, and a single-row request costs
about a dozen numpy calls in all. Every key maps straight to its output: 1.0 / 0.0 (or the train
mode when absent) for a boolean column, the output column of the one-hot feature for a
categorical column.

Besides its values, each column has keys for blank text (missing), for the text of null objects
("None", "nan", "<NA>", "NaT"; confirmed against the original object, so the string "None" stays
a value) and a last key that catches everything else (unknown). Boolean tokens are matched
case-insensitively: the table holds the lower, upper and title case of every token, and only
cells that still miss are lower-cased and looked up again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from components._shared.featurizer.values import NULL_REPRS, null_candidates_are_null

# Resolved flags of a cell; NULL_REPR only until the original object is checked.
REAL, MISSING, UNKNOWN, NULL_REPR = 0, 1, 2, 3
# Sorts after any real text of a column (and before the next column's prefix).
_END = "\U0010ffff"


class DiscreteTable:
    """Lookup of boolean columns (first) and categorical columns (after), side by side.

    Args:
        booleans: per boolean column, ``true_tokens``/``false_tokens`` (lower case) and ``mode``.
        categoricals: per categorical column, ``vocabulary`` and ``missing_bucket``.
        start: output column of the first categorical one-hot feature.
    """

    def __init__(
        self,
        booleans: Sequence[Mapping[str, Any]],
        categoricals: Sequence[Mapping[str, Any]],
        start: int,
    ) -> None:
        table: dict[str, tuple[int, int, int, int]] = {}
        prefixes = []
        columns: list[tuple[list[tuple[str, int]], int, int]] = []
        for spec in booleans:
            tokens = [(t, 1) for t in spec["true_tokens"]]
            tokens += [(t, 0) for t in spec["false_tokens"]]
            variants = [(v, code) for t, code in tokens for v in {t, t.upper(), t.title()}]
            columns.append((variants, int(spec["mode"]), int(spec["mode"])))
        at = start
        for spec in categoricals:
            vocabulary = spec["vocabulary"]
            entries = [(v, at + k) for k, v in enumerate(vocabulary)]
            unknown = at + len(vocabulary)
            missing = unknown + 1 if spec["missing_bucket"] else unknown
            columns.append((entries, unknown, missing))
            at = missing + 1
        self.stop = at
        for j, (entries, unknown_code, missing_code) in enumerate(columns):
            prefix = chr(0xE000 + j)  # private-use code points, one per column
            prefixes.append(prefix)
            values = dict(entries)
            for text in NULL_REPRS:
                # If the text is a real value too, ``alt`` is what a non-null cell means.
                alt = (values[text], REAL) if text in values else (unknown_code, UNKNOWN)
                table[prefix + text] = (missing_code, NULL_REPR, *alt)
            for text, code in entries:
                if text not in NULL_REPRS:
                    table[prefix + text] = (code, REAL, code, REAL)
            table[prefix] = (missing_code, MISSING, missing_code, MISSING)
            table[prefix + _END] = (unknown_code, UNKNOWN, unknown_code, UNKNOWN)
        # A last key above every prefixed text keeps an insertion point inside the table.
        table[chr(0xE000 + len(columns))] = (-1, UNKNOWN, -1, UNKNOWN)
        ordered = sorted(table)
        self.n_booleans = len(booleans)
        self.prefixes = np.array(prefixes, dtype=str)
        self.keys = np.array(ordered, dtype=str)
        self.ends = np.array([ordered.index(p + _END) for p in prefixes], dtype=np.intp)
        rows = [table[k] for k in ordered]
        self.code = np.array([r[0] for r in rows], dtype=np.intp)
        self.flag = np.array([r[1] for r in rows], dtype=np.int8)
        self.alt_code = np.array([r[2] for r in rows], dtype=np.intp)
        self.alt_flag = np.array([r[3] for r in rows], dtype=np.int8)

    def lookup(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output code and flag (REAL, MISSING, UNKNOWN) of every cell of ``block``.

        The code of a boolean cell is 1 or 0 (the train mode when absent), that of a
        categorical cell the output column of its one-hot feature.
        """
        text = block if block.dtype.kind == "U" else block.astype(str)
        text = np.strings.strip(text)
        slot = self._slots(np.strings.add(self.prefixes, text), self.ends)
        code = self.code[slot]
        flag = self.flag[slot]
        if np.count_nonzero(flag >= UNKNOWN):
            self._resolve(block, text, slot, code, flag)
        return code, flag

    def _slots(self, keyed: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Table slot of every keyed cell; a miss takes its column's end key (unknown)."""
        slot = self.keys.searchsorted(keyed)
        np.copyto(slot, ends, where=self.keys[slot] != keyed)
        return slot

    def _resolve(
        self,
        block: np.ndarray,
        text: np.ndarray,
        slot: np.ndarray,
        code: np.ndarray,
        flag: np.ndarray,
    ) -> None:
        """The rare cells: null-looking text and boolean tokens in another letter case."""
        candidates = flag == NULL_REPR
        if np.count_nonzero(candidates):
            nulls = null_candidates_are_null(block, candidates) if block.dtype.kind == "O" else None
            values = candidates if nulls is None else candidates & ~nulls
            code[values] = self.alt_code[slot[values]]
            flag[values] = self.alt_flag[slot[values]]
            flag[flag == NULL_REPR] = MISSING
        retry = flag[:, : self.n_booleans] == UNKNOWN
        if np.count_nonzero(retry):
            rows, cols = np.nonzero(retry)
            keyed = np.strings.add(self.prefixes[cols], np.strings.lower(text[rows, cols]))
            again = self._slots(keyed, self.ends[cols])
            # These cells hold text, not null objects: read null-looking keys as values.
            code[rows, cols] = self.alt_code[again]
            flag[rows, cols] = self.alt_flag[again]

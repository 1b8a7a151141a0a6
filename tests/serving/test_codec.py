"""The codec on its own: the rules a client codes against, without HTTP."""

from __future__ import annotations

import numpy as np
import pytest

from serving.codec import Codec, RequestError
from serving.scoring import Scorer
from tests.serving.conftest import Trained


@pytest.fixture(scope="module")
def scorer(trained: Trained) -> Scorer:
    return Scorer(trained.bundle, name="m")


def test_null_is_imputed_exactly_as_in_training(scorer: Scorer, trained: Trained) -> None:
    frame = trained.test_rows.head(2).copy()
    frame["TotalCharges"] = np.nan
    frame["Contract"] = None
    records = trained.records(2)
    for record in records:
        record["TotalCharges"] = None
        record["Contract"] = None
    scores = [p["probability"] for p in scorer.predict_v1({"instances": records})["predictions"]]
    np.testing.assert_array_equal(scores, trained.bundle.predict_proba_frame(frame))


def test_text_numbers_only_where_the_schema_stored_them_as_text(
    scorer: Scorer, trained: Trained
) -> None:
    record = trained.records(1)[0]
    as_text = {**record, "TotalCharges": f" {record['TotalCharges']} "}
    same = scorer.predict_v1({"instances": [as_text]})["predictions"][0]["probability"]
    assert same == scorer.predict_v1({"instances": [record]})["predictions"][0]["probability"]
    blank = {**record, "TotalCharges": " "}  # a blank is a missing value there, as in training
    scorer.predict_v1({"instances": [blank]})
    with pytest.raises(RequestError, match=r"instances\[0\]\.MonthlyCharges"):
        scorer.predict_v1({"instances": [{**record, "MonthlyCharges": "29.85"}]})


def test_unknown_columns_can_be_ignored_by_flag(trained: Trained) -> None:
    bundle = trained.bundle
    strict = Codec(bundle.schema, bundle.featurizer.input_columns_)
    lenient = Codec(bundle.schema, bundle.featurizer.input_columns_, ignore_unknown_columns=True)
    body = {"instances": [{**trained.records(1)[0], "shoe_size": 42}]}
    with pytest.raises(RequestError, match="unknown column"):
        strict.decode_v1(body)
    assert lenient.decode_v1(body).rows == 1


def test_fast_and_thorough_v2_paths_decode_alike(scorer: Scorer, trained: Trained) -> None:
    from components._shared.oip import v2_request

    body = v2_request(trained.records(8), trained.bundle.schema)
    fast = scorer.codec.decode_v2(body)
    body["inputs"][0]["parameters"] = {}  # an extra field takes the thorough path
    thorough = scorer.codec.decode_v2(body)
    assert fast.columns.keys() == thorough.columns.keys()
    for name in fast.columns:
        np.testing.assert_array_equal(fast.columns[name], thorough.columns[name])

"""Whatever a damaged or hand-edited run store holds, decoding a row gives a record or one
StoreError naming the row: never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tinynas.errors import StoreError, TinyNASError
from tinynas.store._codec import candidate, meta_value, training

# what an SQLite cell can hold
CELLS = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
                  st.binary(max_size=20),
                  st.sampled_from(['{"a": 1}', "[]", "{}", '{"m": NaN}', "scored", "proposed",
                                   "rejected", '"x"', "1e999", "{", "null"]))


def _decoded(decode: Any, row: dict[str, Any]) -> None:
    try:
        record = decode(row)
    except StoreError as e:
        assert str(e).splitlines() == [str(e)] and "row" in str(e)
        return
    if hasattr(record, "architecture"):
        try:
            record.architecture  # noqa: B018 - parsing the stored JSON is what is tested
        except TinyNASError:
            pass


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({
    "id": st.integers(1, 10**6), "hash": CELLS, "arch_json": CELLS, "status": CELLS,
    "reject_reason": CELLS, "estimates_json": CELLS, "scores_json": CELLS, "on_front": CELLS,
    "created_at": CELLS, "updated_at": CELLS}))
def test_any_candidate_row_decodes_or_names_the_row(row: dict[str, Any]) -> None:
    _decoded(candidate, row)


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({
    "id": st.integers(1, 10**6), "candidate_id": CELLS, "stage": CELLS, "epochs": CELLS,
    "seed": CELLS, "val_accuracy": CELLS, "test_accuracy": CELLS, "int8_accuracy": CELLS,
    "train_seconds": CELLS, "device": CELLS, "created_at": CELLS}))
def test_any_training_row_decodes_or_names_the_row(row: dict[str, Any]) -> None:
    _decoded(training, row)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["config", "status", "metric", "teacher", "seed"]), CELLS)
def test_any_meta_value_decodes_or_is_one_store_error(key: str, text: Any) -> None:
    try:
        meta_value(key, text)
    except StoreError as e:
        assert str(e).splitlines() == [str(e)]

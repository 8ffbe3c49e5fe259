"""``load_dataset``: names and aliases, paths found through --data-dir and $TINYNAS_DATA."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinynas.data import DATASETS, DatasetError, load_dataset


def write_xy(path: Path, n: int = 20) -> Path:
    np.savez(path, x=np.arange(n * 3, dtype=np.float32).reshape(n, 3), y=np.arange(n) % 2)
    return path


def test_builtin_names_and_aliases_are_case_insensitive() -> None:
    assert set(DATASETS) == {"fashion-mnist", "digits"}
    assert load_dataset(" Digits ").name == "digits"


def test_unknown_name_lists_every_place_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_a, env_b = tmp_path / "env-a", tmp_path / "env-b"
    monkeypatch.setenv("TINYNAS_DATA", os.pathsep.join([str(env_a), str(env_b)]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "arg").mkdir()  # a --data-dir that does not exist is its own error
    with pytest.raises(DatasetError) as info:
        load_dataset("cifar-3", data_dir=tmp_path / "arg")
    message = str(info.value)
    assert f"{tmp_path / 'cifar-3'} (as given)" in message
    assert f"{tmp_path / 'arg' / 'cifar-3'} (--data-dir)" in message
    for folder in (env_a, env_b):
        assert f"{folder / 'cifar-3'} ($TINYNAS_DATA)" in message
    assert "fashion-mnist, digits" in message and "one subfolder per class" in message


def test_relative_path_is_found_in_env_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "store").mkdir()
    write_xy(tmp_path / "store" / "mine.npz")
    monkeypatch.setenv("TINYNAS_DATA", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    data = load_dataset("mine.npz")
    assert data.source == str(tmp_path / "store" / "mine.npz") and data.input_shape == (3,)


def test_data_dir_is_searched_before_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder, n in (("a", 20), ("b", 40)):
        (tmp_path / folder).mkdir()
        write_xy(tmp_path / folder / "d.npz", n)
    monkeypatch.setenv("TINYNAS_DATA", str(tmp_path / "b"))
    monkeypatch.chdir(tmp_path)
    data = load_dataset("d.npz", data_dir=tmp_path / "a")
    assert len(data.y_train) + len(data.y_test) == 20


def test_image_size_only_for_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--image-size 32 applies only to a folder"):
        load_dataset("digits", image_size=32)
    with pytest.raises(DatasetError, match="--image-size"):
        load_dataset(write_xy(tmp_path / "f.npz"), image_size=(4, 4))


def test_other_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("1,2,3\n")
    with pytest.raises(DatasetError, match="data.csv is neither a .npz file nor a folder"):
        load_dataset(tmp_path / "data.csv")

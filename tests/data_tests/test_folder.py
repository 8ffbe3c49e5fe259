"""The user's image folders: generated PNG/JPEG files, labels, channels, sizes and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinynas.data import DatasetError, load_dataset

LEVELS = {"circle": 30, "square": 120, "triangle": 240}  # class -> gray level of its images


def write_gray_classes(
    root: Path, per_class: int = 5, size_wh: tuple[int, int] = (12, 10)
) -> None:
    """One subfolder per class; every pixel of a class's images has that class's level."""
    for name, level in LEVELS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full(size_wh[::-1], level, np.uint8)
            pixels[0, 0] = i  # tells the images of one class apart
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")


def test_gray_pngs_load_with_their_labels(tmp_path: Path) -> None:
    write_gray_classes(tmp_path / "shapes")
    (tmp_path / "shapes" / "circle" / "notes.txt").write_text("not an image")
    data = load_dataset(tmp_path / "shapes")
    assert data.name == "shapes" and data.class_names == tuple(LEVELS)
    assert data.input_shape == (10, 12, 1)
    assert (len(data.y_train), len(data.y_test)) == (12, 3)
    assert sorted(data.y_test.tolist()) == [0, 1, 2]  # 20 % of each class
    x, y = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
    levels = np.array(list(LEVELS.values()))
    np.testing.assert_allclose(x[:, 5, 5, 0], levels[y] / 255.0, rtol=1e-6)
    marks = np.rint(x[:, 0, 0, 0] * 255).astype(int).tolist()
    firsts = sorted(zip(y.tolist(), marks, strict=True))
    assert firsts == [(label, i) for label in range(3) for i in range(5)]


def test_split_is_seeded(tmp_path: Path) -> None:
    write_gray_classes(tmp_path / "s", per_class=10)
    a, b = load_dataset(tmp_path / "s", seed=3), load_dataset(tmp_path / "s", seed=3)
    c = load_dataset(tmp_path / "s", seed=4)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_colour_images_of_mixed_sizes_are_resized_to_the_first(tmp_path: Path) -> None:
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / "c" / name).mkdir(parents=True)
        for i, size_wh in enumerate([(16, 8), (32, 16), (8, 4)]):
            Image.new("RGB", size_wh, colour).save(tmp_path / "c" / name / f"{i}.png")
    Image.new("L", (16, 8), 128).save(tmp_path / "c" / "red" / "3.png")  # gray among colour
    data = load_dataset(tmp_path / "c")
    assert data.input_shape == (8, 16, 3)  # sorted first: blue/0.png, 16 wide, 8 high
    x, y = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
    blue = x[y == 0]
    np.testing.assert_allclose(blue[..., 2], 1.0)
    np.testing.assert_allclose(blue[..., 0], 0.0)


def test_image_size_option_and_jpeg(tmp_path: Path) -> None:
    for name, level in (("dark", 40), ("light", 200)):
        (tmp_path / "j" / name).mkdir(parents=True)
        for i in range(5):
            Image.new("L", (20, 20), level).save(tmp_path / "j" / name / f"{i}.jpg", quality=95)
    data = load_dataset(tmp_path / "j", image_size=(6, 9))
    assert data.input_shape == (6, 9, 1)
    square = load_dataset(tmp_path / "j", image_size=7)
    assert square.input_shape == (7, 7, 1)
    light = np.concatenate([data.x_train[data.y_train == 1], data.x_test[data.y_test == 1]])
    assert np.abs(light * 255 - 200).max() <= 2  # JPEG is lossy; a flat field barely moves


def test_train_and_test_subfolders_are_kept(tmp_path: Path) -> None:
    write_gray_classes(tmp_path / "pre" / "train", per_class=4)
    write_gray_classes(tmp_path / "pre" / "test", per_class=2)
    data = load_dataset(tmp_path / "pre")
    assert (len(data.y_train), len(data.y_test)) == (12, 6)
    assert data.y_test.tolist() == [0, 0, 1, 1, 2, 2]


def test_empty_class_folder_is_named(tmp_path: Path) -> None:
    write_gray_classes(tmp_path / "e")
    (tmp_path / "e" / "hexagon").mkdir()
    with pytest.raises(DatasetError, match="class folder .*hexagon has no .png"):
        load_dataset(tmp_path / "e")


def test_folder_without_class_subfolders(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DatasetError, match="flat has no class subfolders"):
        load_dataset(tmp_path / "flat")


@pytest.mark.parametrize("content", [b"garbage bytes", b"truncated"])
def test_unreadable_image_is_named(tmp_path: Path, content: bytes) -> None:
    write_gray_classes(tmp_path / "u")
    bad = tmp_path / "u" / "square" / "03.png"
    if content == b"truncated":  # a noisy PNG cut in the middle of its pixel data
        noise = np.random.default_rng(0).integers(0, 256, (10, 12), dtype=np.uint8)
        Image.fromarray(noise).save(bad)
        content = bad.read_bytes()[: len(bad.read_bytes()) // 2]
    bad.write_bytes(content)
    with pytest.raises(DatasetError, match=r"cannot read image .*square.03\.png"):
        load_dataset(tmp_path / "u")


def test_sixteen_bit_images_are_refused(tmp_path: Path) -> None:
    (tmp_path / "d" / "depth").mkdir(parents=True)
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "d" / "depth" / "0.png")
    with pytest.raises(DatasetError, match="pixel mode I;16.*8-bit"):
        load_dataset(tmp_path / "d")

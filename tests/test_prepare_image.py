import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from image_fixtures import (
    brain_like_volume,
    slide_mask,
    slide_pixels,
    write_nifti,
    write_png,
    write_pyramid,
    write_sheet,
)

from biodl.config.checks import validate_config
from biodl.config.datasets import ImageDataset, dataset_settings
from biodl.core.errors import InputError
from biodl.core.files import load_npy
from biodl.core.vocabulary import SPLITS
from biodl.data.dataset import load_labels, load_metadata, open_dataset
from biodl.data.image.prepare import prepare_image
from biodl.data.shards import ImageFiles

ROOT = Path(__file__).resolve().parents[1]
# A config needs a run (a model that fits a dataset); a DNA dataset of the demo provides one.
DNA_RUN = {
    "datasets": {
        "ctcf": {
            "modality": "dna",
            "sequences": {"CTCF": "resources/ctcf/Gm12878.CTCF.top500.w200.fa"},
            "length": 200,
        }
    },
    "models": {"m": {"kind": "cnn1d"}},
}


def config_spec(dataset: dict) -> ImageDataset:
    """The image dataset entry as the workflow sees it: validated, defaults filled, typed."""
    config = {**DNA_RUN, "datasets": {**DNA_RUN["datasets"], "d": {"modality": "image", **dataset}}}
    spec = dataset_settings("d", validate_config(config, base_dir=ROOT)["datasets"]["d"])
    assert isinstance(spec, ImageDataset)
    return spec


def run(tmp_path: Path, spec: ImageDataset, seed: int = 3) -> Path:
    out = tmp_path / "prepared"
    prepare_image(spec, seed, ImageFiles.in_folder(out))
    return out


def slides_with_masks(tmp_path: Path, n: int) -> list[list[object]]:
    """``n`` synthetic slides (pyramidal TIFF) with their masks at downsample 4, one patient each."""
    rows = []
    for i in range(n):
        slide = write_pyramid(tmp_path / f"slide{i}.tif", slide_pixels(seed=i))
        mask = write_png(tmp_path / f"slide{i}.mask.png", slide_mask(4))
        rows.append([slide.name, mask.name, f"patient{i}"])
    return rows


MASK_DATASET = {
    "classes": {"left": 1, "right": 2},
    "tile": {"size": 32, "level": 1},
    "tissue": {"threshold": 0.5},
    "labels": {"min_coverage": 0.9},
}


def test_mask_dataset_end_to_end(tmp_path):
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "mask", "group"], slides_with_masks(tmp_path, 6))
    out = run(tmp_path, config_spec({"sample_sheet": str(sheet), **MASK_DATASET}))
    dataset = open_dataset(out)
    assert dataset.task == "binary" and dataset.classes == ("left", "right") and dataset.targets == ("right",)
    assert dataset.input_shape == (32, 32, 3)
    description = json.loads((out / "dataset.json").read_text())
    tiling = description["tiling"]
    assert tiling["levels_read"] == [1] and tiling["images"] == 6
    assert tiling["tiles_considered"] == tiling["tiles_kept"] + sum(tiling["dropped"].values())
    train_pixels = []
    for split in SPLITS:
        meta = load_metadata(dataset, split)
        labels = load_labels(dataset, split)
        assert (labels[:, 0] == (meta["label"] == "right")).all()
        assert (meta["level"] == 1).all() and (meta["tissue_fraction"].astype(float) >= 0.5).all()
        for row in meta.itertuples():
            pixels = load_npy(out / f"{row.shard}.x.npy")[row.offset]
            seed = int(Path(row.image).stem.removeprefix("slide"))
            level1 = slide_pixels(seed=seed)[::2, ::2]
            np.testing.assert_array_equal(
                pixels, level1[row.y // 2 : row.y // 2 + 32, row.x // 2 : row.x // 2 + 32]
            )
            # The label is the mask class under the tile (left piece: x < 192, right: x >= 192).
            assert row.label == ("left" if row.x + 32 < 192 else "right")
            if split == "train":
                train_pixels.append(pixels)
    train = np.stack(train_pixels).reshape(-1, 3).astype(float)
    np.testing.assert_allclose(description["channel_mean"], train.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(description["channel_std"], train.std(axis=0), atol=1e-3)
    assert (out / "preview.png").stat().st_size > 0


def test_splits_keep_patients_whole_and_are_seeded(tmp_path):
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "mask", "group"], slides_with_masks(tmp_path, 7))
    spec = config_spec({"sample_sheet": str(sheet), **MASK_DATASET})
    out = run(tmp_path, spec)
    meta = pd.read_csv(out / "metadata.tsv", sep="\t")
    splits_per_group = meta.groupby("group")["split"].nunique()
    assert (splits_per_group == 1).all()  # no patient in two splits: no leakage
    assert (meta.groupby("image")["group"].nunique() == 1).all()
    assert set(meta["split"]) == set(SPLITS)
    first = meta.groupby("group")["split"].first().to_dict()
    again = (
        pd.read_csv(run(tmp_path, spec) / "metadata.tsv", sep="\t")
        .groupby("group")["split"]
        .first()
        .to_dict()
    )
    assert first == again


def test_label_sheet_of_pngs_with_stratified_group_split(tmp_path):
    rows = []
    for i in range(12):
        write_png(tmp_path / f"img{i}.png", slide_pixels(seed=i))
        rows.append([f"img{i}.png", "tumour" if i % 2 else "normal", f"p{i // 2 if i < 8 else i}"])
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "label", "group"], rows)
    spec = config_spec(
        {
            "sample_sheet": str(sheet),
            "classes": ["normal", "tumour"],
            "tile": {"size": 64},
            "split": {"validation_fraction": 0.25, "test_fraction": 0.25},
        }
    )
    out = run(tmp_path, spec)
    dataset = open_dataset(out)
    meta = pd.read_csv(out / "metadata.tsv", sep="\t")
    assert (meta.groupby("group")["split"].nunique() == 1).all()
    by_image = meta.groupby("image")["label"].first()
    assert all(
        by_image[str(tmp_path / f"img{i}.png")] == ("tumour" if i % 2 else "normal") for i in range(12)
    )
    for split in SPLITS:
        assert set(load_metadata(dataset, split)["label"]) == {"normal", "tumour"}


def test_nifti_slices_labelled_from_an_atlas_volume(tmp_path):
    volume, labels = brain_like_volume()
    write_nifti(tmp_path / "t1.nii.gz", volume)
    write_nifti(tmp_path / "atlas.nii.gz", labels)
    sheet = write_sheet(
        tmp_path / "sheet.tsv",
        ["image", "mask", "group", "split", "slices"],
        [
            ["t1.nii.gz", "atlas.nii.gz", "a", "train", "0-5"],
            ["t1.nii.gz", "atlas.nii.gz", "b", "validation", "7-8"],
            ["t1.nii.gz", "atlas.nii.gz", "c", "test", "10-11"],
        ],
    )
    spec = config_spec(
        {
            "sample_sheet": str(sheet),
            "nifti_axis": "sagittal",
            "classes": {"inferior": 1, "superior": 2},
            "tile": {"size": 8},
            "tissue": {"background": "dark"},
        }
    )
    out = run(tmp_path, spec)
    meta = pd.read_csv(out / "metadata.tsv", sep="\t")
    index = meta["image"].str.extract(r"#x=(\d+)$")[0].astype(int)
    assert set(index[meta["split"] == "train"]) == set(range(6)) and set(index[meta["split"] == "test"]) == {
        10,
        11,
    }
    # Rows run from superior (high z) down: the top half of each slice is the superior class.
    assert (meta.loc[meta["y"] + 8 <= 24, "label"] == "superior").all()
    assert (meta.loc[meta["y"] >= 24, "label"] == "inferior").all()
    assert open_dataset(out).input_shape == (8, 8, 1)


def test_padded_edge_tiles_with_every_pixel_as_tissue(tmp_path):
    rows = []
    for i, (split, label) in enumerate((s, c) for s in SPLITS for c in ("a", "b")):
        write_png(tmp_path / f"small{i}.png", np.full((70, 100, 3), 100 + i, np.uint8))
        rows.append([f"small{i}.png", label, split])
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "label", "split"], rows)
    spec = config_spec(
        {
            "sample_sheet": str(sheet),
            "tile": {"size": 32, "edge": "pad"},
            "tissue": {"background": "none", "threshold": 0.0},
        }
    )
    out = run(tmp_path, spec)
    meta = pd.read_csv(out / "metadata.tsv", sep="\t")
    first = meta[meta["image"] == str(tmp_path / "small0.png")]
    assert sorted(set(first["x"])) == [0, 32, 64, 96] and sorted(set(first["y"])) == [0, 32, 64]
    corner = first[(first["x"] == 96) & (first["y"] == 64)].iloc[0]
    assert corner["tissue_fraction"] == pytest.approx(4 * 6 / 32**2, abs=1e-4)  # the part inside the image
    pixels = load_npy(out / f"{corner['shard']}.x.npy")[corner["offset"]]
    assert (pixels[:6, :4] == 100).all() and (pixels[6:] == 0).all() and (pixels[:, 4:] == 0).all()


# --- bad input: one clear error naming the file, and no output --------------------------------


def assert_no_output(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())


def bad_case(tmp_path: Path, case: str) -> tuple[ImageDataset, Path]:
    """A dataset entry with one problem, and the file its error must name."""
    rows = slides_with_masks(tmp_path, 3)
    for row, split in zip(rows, SPLITS, strict=True):
        row.append(split)
    entry = {**MASK_DATASET}
    named = tmp_path / "slide0.tif"
    if case == "corrupt image":
        named.write_bytes(named.read_bytes()[:300])
    elif case == "damaged tiles":  # the header reads, the level-0 tile data do not decode
        data = bytearray(named.read_bytes())
        data[len(data) // 4 : len(data) // 2] = bytes(len(data) // 2 - len(data) // 4)
        named.write_bytes(bytes(data))
        entry["tile"] = {"size": 64, "level": 0}
    elif case == "mask size":
        write_png(tmp_path / "slide0.mask.png", slide_mask(4)[:40])
        named = tmp_path / "slide0.mask.png"
    elif case == "tile too large":
        entry["tile"] = {"size": 256, "level": 1}
    elif case == "no tissue":
        write_pyramid(named, np.full((256, 384, 3), 240, np.uint8))
    elif case == "class missing from a split":
        only_left = slide_mask(4)
        only_left[only_left == 2] = 1
        write_png(tmp_path / "slide2.mask.png", only_left)
        named = tmp_path / "sheet.tsv"
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "mask", "group", "split"], rows)
    return config_spec({"sample_sheet": str(sheet), **entry}), named


@pytest.mark.parametrize(
    "case, expected",
    [
        ("corrupt image", "not a readable TIFF"),
        ("damaged tiles", "cannot read the slide"),
        ("mask size", "does not match the image 384x256"),
        ("tile too large", "larger than the image (384x256)"),
        ("no tissue", "no tissue found"),
        ("class missing from a split", "no tiles of class(es) 'right'"),
    ],
)
def test_bad_input_names_the_file_and_leaves_no_output(tmp_path, case, expected):
    spec, named = bad_case(tmp_path, case)
    out = tmp_path / "prepared"
    with pytest.raises(InputError) as caught:
        prepare_image(spec, 1, ImageFiles.in_folder(out))
    assert str(named) in str(caught.value) and expected in str(caught.value)
    assert_no_output(out)


def test_config_check_reads_the_sheet(tmp_path):
    sheet = write_sheet(tmp_path / "sheet.tsv", ["image", "mask"], [["missing.tif", "m.png"]])
    with pytest.raises(InputError, match="image file not found"):
        config_spec({"sample_sheet": str(sheet), **MASK_DATASET})
    with pytest.raises(InputError) as caught:
        config_spec({"sample_sheet": str(tmp_path / "none.tsv"), **MASK_DATASET})
    assert caught.value.where == "datasets.d.sample_sheet" and "file not found" in caught.value.problem
    with pytest.raises(InputError, match="give tile.level or tile.mpp, not both"):
        config_spec({"sample_sheet": "x.tsv", **MASK_DATASET, "tile": {"level": 1, "mpp": 1.0}})

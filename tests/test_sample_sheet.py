import pytest
from image_fixtures import write_sheet

from biodl.core.errors import InputError
from biodl.data.image.sample_sheet import Region, read_sample_sheet, resolve_classes


@pytest.fixture
def folder(tmp_path):
    for name in ("a.svs", "b.svs", "a.png", "vol.nii.gz", "labels.nii.gz"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_label_sheet_paths_groups_and_defaults(folder):
    (folder / "sub").mkdir()
    sheet = read_sample_sheet(
        write_sheet(
            folder / "sub" / "s.tsv",
            ["image", "label", "group"],
            [
                ["../a.svs", "tumour", "patient1"],
                [folder / "b.svs", "normal", ""],
            ],
        )
    )
    first, second = sheet.rows
    assert sheet.labels_from == "label" and first.image == folder / "sub" / "../a.svs"
    assert first.group == "patient1" and second.group == str(folder / "b.svs")  # default: the image
    assert first.split is None and first.region is None and first.slices is None and first.where == "line 2"
    assert [path.name for _, path in sheet.files()] == ["a.svs", "b.svs"]


def test_csv_mask_sheet_with_regions_and_slices(folder):
    path = folder / "s.csv"
    path.write_text(
        'image,mask,group,split,region,slices\na.svs,a.png,top,train,"0,0,100,50",\n'
        'a.svs,a.png,bottom,test,"0,50,100,50",\nvol.nii.gz,labels.nii.gz,,validation,,3-7\n'
    )
    sheet = read_sample_sheet(path)
    assert sheet.labels_from == "mask"
    assert sheet.rows[1].region == Region(0, 50, 100, 50) and sheet.rows[2].slices == (3, 7)
    assert [where for where, _ in sheet.files()] == [
        "line 2 image",
        "line 2 mask",
        "line 4 image",
        "line 4 mask",
    ]


@pytest.mark.parametrize(
    "header, rows, where, expected",
    [
        (["image", "label", "colour"], [["a.svs", "x", "red"]], "header", "unknown column(s) ['colour']"),
        (["image", "label", "mask"], [["a.svs", "x", "a.png"]], "header", "exactly one of the columns"),
        (["path", "label"], [["a.svs", "x"]], "header", "unknown column"),
        (["image", "label"], [["missing.svs", "x"]], "line 2", "image file not found"),
        (["image", "label"], [["a.svs", ""]], "line 2", "empty 'label' cell"),
        (["image", "mask"], [["a.svs", ""]], "line 2", "empty 'mask' cell"),
        (["image", "label", "split"], [["a.svs", "x", "training"]], "line 2", "split must be one of"),
        (
            ["image", "label", "split"],
            [["a.svs", "x", "train"], ["b.svs", "x", ""]],
            "line 3",
            "empty 'split' cell",
        ),
        (
            ["image", "label", "group", "split"],
            [["a.svs", "x", "p1", "train"], ["b.svs", "x", "p1", "test"]],
            "line 3",
            "group 'p1' is in split 'train' on line 2 but in 'test' here",
        ),
        (
            ["image", "label", "split", "region"],
            [["a.svs", "x", "train", "0,0,5,5"], ["a.svs", "x", "test", "9,9,5,5"]],
            "line 3",
            "a group must stay in one split",
        ),  # regions of one image share its group unless given one
        (
            ["image", "label", "region"],
            [["a.svs", "x", "0,0,10"]],
            "line 2",
            "region must be 'x,y,width,height'",
        ),
        (["image", "label", "region"], [["a.svs", "x", "0,0,0,10"]], "line 2", "width, height >= 1"),
        (["image", "label", "slices"], [["vol.nii.gz", "x", "9-3"]], "line 2", "0 <= first <= last"),
        (
            ["image", "label", "region"],
            [["a.svs", "x", "0,0,100,100"], ["a.svs", "y", "50,50,100,100"]],
            "line 3",
            "selects part of image",
        ),
        (["image", "label"], [["a.svs", "x"], ["a.svs", "y"]], "line 3", "selects part of image"),
        (
            ["image", "label", "slices"],
            [["vol.nii.gz", "x", "0-5"], ["vol.nii.gz", "y", "5-9"]],
            "line 3",
            "selects part of image",
        ),
        (
            ["image", "mask", "region"],
            [["a.svs", "a.png", "0,0,5,5"], ["a.svs", "labels.nii.gz", "9,9,5,5"]],
            "line 3",
            "one image has one mask",
        ),
        (["image", "label"], [], None, "lists no images"),
    ],
)
def test_sheet_problems_name_the_line(folder, header, rows, where, expected):
    path = write_sheet(folder / "s.tsv", header, rows)
    with pytest.raises(InputError) as caught:
        read_sample_sheet(path)
    assert caught.value.source == str(path) and caught.value.where == where
    assert expected in caught.value.problem


def test_rows_that_do_not_overlap_are_accepted(folder):
    sheet = read_sample_sheet(
        write_sheet(
            folder / "s.tsv",
            ["image", "label", "slices"],
            [["vol.nii.gz", "x", "0-4"], ["vol.nii.gz", "y", "5-9"]],
        )
    )
    assert len(sheet.rows) == 2 and sheet.rows[1].includes_slice(5) and not sheet.rows[1].includes_slice(4)


def test_classes_for_label_sheets(folder):
    sheet = read_sample_sheet(
        write_sheet(folder / "s.tsv", ["image", "label"], [["a.svs", "tumour"], ["b.svs", "normal"]])
    )
    assert resolve_classes(None, sheet, "datasets.d") == (["normal", "tumour"], {})
    assert resolve_classes(["tumour", "normal"], sheet, "datasets.d")[0] == ["tumour", "normal"]
    with pytest.raises(InputError) as caught:
        resolve_classes(["normal", "benign"], sheet, "datasets.d")
    assert caught.value.where == "line 2" and "'tumour' is not one of the classes" in caught.value.problem
    with pytest.raises(InputError, match="list of names"):
        resolve_classes({"normal": 1, "tumour": 2}, sheet, "datasets.d")


def test_classes_for_mask_sheets(folder):
    sheet = read_sample_sheet(write_sheet(folder / "s.tsv", ["image", "mask"], [["a.svs", "a.png"]]))
    names, values = resolve_classes({"stroma": 1, "tumour": [2, 3]}, sheet, "datasets.d")
    assert names == ["stroma", "tumour"] and values == {1: 1, 2: 2, 3: 2}
    with pytest.raises(InputError) as caught:
        resolve_classes({"stroma": [1, 2], "tumour": [2]}, sheet, "datasets.d")
    assert (
        caught.value.where == "datasets.d.classes.tumour"
        and "already belongs to class 'stroma'" in caught.value.problem
    )
    with pytest.raises(InputError, match="need classes as a mapping"):
        resolve_classes(["stroma", "tumour"], sheet, "datasets.d")


def test_a_sheet_written_on_windows_finds_its_images(folder):
    (folder / "images").mkdir()
    (folder / "images" / "c.png").write_bytes(b"x")
    (folder / "s.tsv").write_bytes(b"\xef\xbb\xbfimage\tlabel\r\nimages\\c.png\ta\r\n\r\na.svs\tb\r\n")
    sheet = read_sample_sheet(folder / "s.tsv")
    assert [(row.line, row.image) for row in sheet.rows] == [
        (2, folder / "images/c.png"),
        (4, folder / "a.svs"),
    ]
    (folder / "s.tsv").write_text("image\tlabel\nimages\\missing.png\ta\n")
    with pytest.raises(InputError, match=r"s.tsv, line 2: image file not found: .*images/missing.png"):
        read_sample_sheet(folder / "s.tsv")


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(folder):
    (folder / "s.csv").write_text('image,label,group\na.svs,a,"two\nlines"\n\nb.svs,b,\nmissing.svs,a,\n')
    with pytest.raises(InputError, match=r"s.csv, line 6: image file not found"):
        read_sample_sheet(folder / "s.csv")

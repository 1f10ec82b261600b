"""The bad-input matrix: every malformed input a user is likely to feed the workflow, one case each.

Each case starts from tiny, valid, demo-like inputs (a three-chromosome genome with peaks, a
FASTA of sequences, a feature table, an image sample sheet), breaks one thing, and runs what
the workflow runs: the configuration check of ``workflow/rules/common.smk``
(``biodl.config.checks.validate_config``), then the preparing rule's own script
(``scripts/prepare_<modality>.py``, executed with a stand-in ``snakemake`` object). A failing case must
give exactly one error line, naming the user's file (as written in the config, never a
resolved temporary path) and the record, line or key, with what was expected; exit status 1;
no traceback; and no file under ``results/`` at all, so nothing looks complete. The "must
work" cases (Windows line endings, a stale ``.fai``, BED header lines) must instead give
exactly the output of the clean input.

A few cases, one per modality and one for the configuration, also run through a real
``snakemake`` in a temporary folder (``test_snakemake_reports_bad_input``). The table of cases
and messages in ``docs/bad-inputs.md`` is copied from what these tests observe
(``python tests/test_bad_inputs.py`` prints it).
"""

from __future__ import annotations

import codecs
import copy
import gzip
import logging
import re
import runpy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nibabel as nib
import numpy as np
import pytest
import yaml
from image_fixtures import slide_pixels, write_pyramid
from PIL import Image

from biodl.config.checks import validate_config
from biodl.config.config_file import check_config_files
from biodl.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CONFIG_FILE = "config.yaml"

# --- tiny valid inputs ------------------------------------------------------------------------

CHROMS = ("chr1", "chr2", "chr3")
CHROM_LENGTH = 3000
LENGTH = 100


def fasta_text(records: dict[str, str], width: int = 60, newline: str = "\n") -> str:
    return "".join(
        f">{name}{newline}" + "".join(seq[i : i + width] + newline for i in range(0, len(seq), width))
        for name, seq in records.items()
    )


def genome_records() -> dict[str, str]:
    rng = np.random.default_rng(1)
    return {chrom: "".join(rng.choice(list("ACGT"), CHROM_LENGTH)) for chrom in CHROMS}


def bed_lines() -> list[str]:
    """Ten 60 bp peaks per chromosome, away from the ends, in narrowPeak-free 6-column BED."""
    return [
        f"{chrom}\t{start}\t{start + 60}\t{chrom}_p{k}\t0\t{'+-'[k % 2]}"
        for chrom in CHROMS
        for k, start in enumerate(range(200, 2700, 250))
    ]


def sequence_records() -> dict[str, str]:
    rng = np.random.default_rng(2)
    return {f"seq{i}": "".join(rng.choice(list("ACGT"), 50)) for i in range(40)}


def table_lines() -> list[str]:
    rng = np.random.default_rng(3)
    rows = ["id,size,density,colour,diagnosis"]
    for i in range(60):
        rows.append(
            f"s{i},{rng.normal(10, 2):.3f},{rng.normal(1, 0.2):.3f},{['red', 'blue'][i % 2]},"
            f"{['benign', 'malignant'][i % 3 == 0]}"
        )
    return rows


def pink_image(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.array([200, 110, 170]) + rng.integers(-20, 21, (size, size, 3)), 0, 255).astype(
        np.uint8
    )


LABEL_SHEET = [
    ("img0.png", "a", "train"),
    ("img1.png", "b", "train"),
    ("img2.png", "a", "validation"),
    ("img3.png", "b", "validation"),
    ("img4.png", "a", "test"),
    ("img5.png", "b", "test"),
]


def write_inputs(folder: Path) -> None:
    """Every valid input of every modality, in ``folder`` (the working directory of a run)."""
    (folder / "genome.fa").write_text(fasta_text(genome_records()))
    (folder / "peaks.bed").write_text("\n".join(bed_lines()) + "\n")
    (folder / "bound.fa").write_text(fasta_text(sequence_records()))
    (folder / "table.csv").write_text("\n".join(table_lines()) + "\n")
    for i, (name, _, _) in enumerate(LABEL_SHEET):
        Image.fromarray(pink_image(i)).save(folder / name)
    (folder / "sheet.tsv").write_text(
        "image\tlabel\tsplit\n" + "".join(f"{n}\t{c}\t{s}\n" for n, c, s in LABEL_SHEET)
    )
    # A mask sheet: the left half of each image is class 1, the right half class 2.
    mask = np.zeros((64, 64), np.uint8)
    mask[:, :32], mask[:, 32:] = 1, 2
    Image.fromarray(mask).save(folder / "mask.png")
    (folder / "masks.tsv").write_text(
        "image\tmask\tsplit\n" + "".join(f"{n}\tmask.png\t{s}\n" for n, _, s in LABEL_SHEET)
    )
    (folder / "seqs.csv").write_text("\n".join(sequence_table_lines()) + "\n")


def sequence_table_lines() -> list[str]:
    """A DNA dataset given as a table: a sequence column and a class column."""
    return ["sequence,label"] + [f"{seq},{'ab'[i % 2]}" for i, seq in enumerate(sequence_records().values())]


DATASETS: dict[str, dict[str, Any]] = {
    "genome": {
        "modality": "dna",
        "genome": "genome.fa",
        "regions": {"peak": "peaks.bed"},
        "length": LENGTH,
        "negatives": {"method": "shuffle", "ratio": 1},
        "split": {"validation": ["chr2"], "test": ["chr3"]},
    },
    "sequences": {
        "modality": "dna",
        "sequences": {"bound": "bound.fa"},
        "length": 50,
        "negatives": {"method": "shuffle", "ratio": 1},
    },
    "sequence table": {
        "modality": "dna",
        "table": {"path": "seqs.csv", "sequence_column": "sequence", "label_columns": ["label"]},
        "length": 50,
    },
    "table": {
        "modality": "table",
        "path": "table.csv",
        "id_column": "id",
        "label_columns": ["diagnosis"],
        "task": "binary",
        "classes": ["benign", "malignant"],
    },
    "image": {
        "modality": "image",
        "sample_sheet": "sheet.tsv",
        "tile": {"size": 32},
        "tissue": {"background": "light"},
    },
    "masks": {
        "modality": "image",
        "sample_sheet": "masks.tsv",
        "classes": {"left": 1, "right": 2},
        "tile": {"size": 32},
        "tissue": {"background": "light"},
    },
}
MODELS = {
    "dna": {"kind": "cnn1d", "conv_layers": [{"filters": 4, "kernel_size": 5}], "global_pool": "max"},
    "table": {"kind": "mlp", "dense_layers": [{"units": 4}]},
    "image": {"kind": "cnn2d", "conv_layers": [{"filters": 4, "kernel_size": 3}]},
}


def base_config(base: str) -> dict[str, Any]:
    dataset = copy.deepcopy(DATASETS[base])
    modality = dataset["modality"]
    return {
        "seed": 5,
        "datasets": {"d": dataset},
        "models": {"m": copy.deepcopy(MODELS[modality])},
        "runs": {"d": ["m"]},
    }


# --- what the workflow runs -------------------------------------------------------------------


@dataclass
class Outcome:
    exit_code: int
    errors: list[str]  # the ERROR lines of the job's log, message only
    log: str
    outputs: list[Path]  # every file under results/ afterwards

    @property
    def message(self) -> str:
        assert len(self.errors) == 1, f"expected exactly one error message, found {self.errors}\n{self.log}"
        return self.errors[0]


def prepare(folder: Path, config: dict[str, Any], dataset: str = "d") -> Outcome:
    """The configuration check, then ``scripts/prepare_<modality>.py`` as the preparing rule runs it,
    in ``folder``.

    A configuration error stops everything before any job, as in ``common.smk``; it is reported
    like a job's error here, for one way of checking every case.
    """
    log = folder / "logs" / "prepare" / f"{dataset}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        if (folder / CONFIG_FILE).is_file():  # a case that writes the config as a file
            check_config_files([folder / CONFIG_FILE])
        validate_config(config, base_dir=folder, workflow_dir=ROOT)
    except InputError as error:
        return Outcome(1, [str(error)], str(error), _results(folder))
    out = Path("results") / "prepared" / dataset
    outputs = {
        "dataset": str(out / "dataset.json"),
        "metadata": str(out / "metadata.tsv"),
        "shards": str(out / "shards"),
        "preview": str(out / "preview.png"),
        "preprocessing": str(out / "preprocessing.skops"),
    }
    fake = SimpleNamespace(
        output=SimpleNamespace(**outputs),
        params=SimpleNamespace(spec=config["datasets"][dataset], seed=config["seed"]),
        wildcards=SimpleNamespace(dataset=dataset),
        threads=1,
        log=[str(log)],
        rule=f"prepare_{config['datasets'][dataset]['modality']}",
        input=[],
    )
    code = 0
    try:
        script = SCRIPTS / f"prepare_{config['datasets'][dataset]['modality']}.py"
        runpy.run_path(str(script), init_globals={"snakemake": fake}, run_name="__main__")
    except SystemExit as stop:
        code = int(stop.code or 0)
    finally:
        for handler in logging.getLogger().handlers[:]:  # run_step's log file, closed before the next case
            handler.close()
            logging.getLogger().removeHandler(handler)
    text = log.read_text()
    errors = [line.split(": ", 1)[1] for line in text.splitlines() if " ERROR " in line]
    return Outcome(code, errors, text, _results(folder))


def _results(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "results").rglob("*") if p.is_file())


# --- the cases --------------------------------------------------------------------------------


def edit_line(path: str, number: int, change: Callable[[str], str]) -> Callable[[Path, dict], None]:
    """A mutation replacing 1-based line ``number`` of ``path`` by ``change(line)``."""

    def mutate(folder: Path, config: dict) -> None:
        lines = (folder / path).read_text().split("\n")
        lines[number - 1] = change(lines[number - 1])
        (folder / path).write_text("\n".join(lines))

    return mutate


def write(path: str, content: str | bytes) -> Callable[[Path, dict], None]:
    def mutate(folder: Path, config: dict) -> None:
        target = folder / path
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)

    return mutate


def with_tasks(files: dict[str, str]) -> Callable[[Path, dict], None]:
    """A mutation turning the genome dataset into a multi-task one: task name → BED text (written
    as ``<name>.bed``); the peaks file is the first task."""

    def mutate(folder: Path, config: dict) -> None:
        spec = config["datasets"]["d"]
        spec.pop("regions")
        spec["negatives"] = {"method": "gc_matched"}
        spec["tasks"] = {"peaks": "peaks.bed"}
        for name, text in files.items():
            (folder / f"{name}.bed").write_text(text)
            spec["tasks"][name] = f"{name}.bed"

    return mutate


def set_key(keys: str, value: Any) -> Callable[[Path, dict], None]:
    """A mutation setting a dotted config key (``datasets.d.length``)."""

    def mutate(folder: Path, config: dict) -> None:
        *parents, last = keys.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return mutate


def located_table(line: int, region: str, **table: Any) -> Callable[[Path, dict], None]:
    """A mutation giving the sequence table a ``region`` column (``chrom:start-end`` on chr1 to
    chr3; ``region`` at file ``line``), read by ``table.location``, with chromosome hold-outs;
    ``table`` adds keys to the dataset's table."""

    def mutate(folder: Path, config: dict) -> None:
        lines = sequence_table_lines()
        regions = ["region"] + [f"chr{1 + i % 3}:{1 + 100 * i}-{50 + 100 * i}" for i in range(len(lines) - 1)]
        regions[line - 1] = region
        (folder / "seqs.csv").write_text("".join(f"{a},{b}\n" for a, b in zip(lines, regions, strict=True)))
        spec = config["datasets"]["d"]
        spec["table"] = {**spec["table"], "location": {"column": "region"}, **table}
        spec["split"] = {"validation": ["chr2"], "test": ["chr3"]}

    return mutate


def rename_key(keys: str, new: str) -> Callable[[Path, dict], None]:
    def mutate(folder: Path, config: dict) -> None:
        *parents, last = keys.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[new] = node.pop(last)

    return mutate


def gzipped(path: str) -> Callable[[Path, dict], None]:
    """A mutation compressing ``path`` to ``path.gz`` (the config must then name the .gz)."""

    def mutate(folder: Path, config: dict) -> None:
        (folder / f"{path}.gz").write_bytes(gzip.compress((folder / path).read_bytes()))

    return mutate


def both(*mutations: Callable[[Path, dict], None]) -> Callable[[Path, dict], None]:
    def mutate(folder: Path, config: dict) -> None:
        for mutation in mutations:
            mutation(folder, config)

    return mutate


def genome_with(chrom: str, position: int, text: str) -> str:
    """The genome FASTA with ``text`` written over ``chrom`` from 1-based ``position`` on (same length)."""
    records = genome_records()
    records[chrom] = records[chrom][: position - 1] + text + records[chrom][position - 1 + len(text) :]
    return fasta_text(records)


def truncated_png(folder: Path, config: dict) -> None:
    data = (folder / "img3.png").read_bytes()
    (folder / "img3.png").write_bytes(data[: len(data) // 2])


def small_mask(folder: Path, config: dict) -> None:
    Image.fromarray(np.ones((20, 48), np.uint8)).save(folder / "mask.png")


def unreadable_slide(folder: Path, config: dict) -> None:
    # A file named like an Aperio slide that is a TIFF header followed by garbage.
    (folder / "slide.svs").write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    sheet = (folder / "sheet.tsv").read_text().replace("img1.png", "slide.svs")
    (folder / "sheet.tsv").write_text(sheet)


def truncated_slide(folder: Path, config: dict) -> None:
    """A pyramidal TIFF slide cut in half, as an interrupted copy leaves it."""
    slide = write_pyramid(folder / "slide.tif", slide_pixels())
    slide.write_bytes(slide.read_bytes()[: slide.stat().st_size // 2])
    (folder / "sheet.tsv").write_text((folder / "sheet.tsv").read_text().replace("img1.png", "slide.tif"))


def truncated_volume(folder: Path, config: dict) -> None:
    """A NIfTI volume whose download stopped half way, listed in place of one image."""
    nib.save(nib.Nifti1Image(np.ones((8, 64, 64), np.float32), np.eye(4)), folder / "brain.nii")
    data = (folder / "brain.nii").read_bytes()
    (folder / "brain.nii").write_bytes(data[: len(data) // 2])
    (folder / "sheet.tsv").write_text((folder / "sheet.tsv").read_text().replace("img5.png", "brain.nii"))


def all_peaks_at_the_ends(folder: Path, config: dict) -> None:
    (folder / "peaks.bed").write_text(
        "".join(f"{c}\t5\t65\tp{c}\t0\t+\n" for c in CHROMS)
        + "".join(f"{c}\t{CHROM_LENGTH - 40}\t{CHROM_LENGTH - 5}\tq{c}\t0\t+\n" for c in CHROMS)
    )


def drop_table_column(column: str) -> Callable[[Path, dict], None]:
    def mutate(folder: Path, config: dict) -> None:
        rows = [line.split(",") for line in table_lines()]
        index = rows[0].index(column)
        (folder / "table.csv").write_text(
            "\n".join(",".join(r[:index] + r[index + 1 :]) for r in rows) + "\n"
        )

    return mutate


def empty_column(folder: Path, config: dict) -> None:
    rows = [line.split(",") for line in table_lines()]
    (folder / "table.csv").write_text(
        "\n".join(",".join(r[:2] + (["density"] if i == 0 else ["NA"]) + r[3:]) for i, r in enumerate(rows))
        + "\n"
    )


def rare_class(folder: Path, config: dict) -> None:
    """Only two malignant rows: a stratified 3-way split cannot give every split one."""
    rows = table_lines()
    rows = [rows[0]] + [r.replace("malignant", "benign") for r in rows[1:-2]] + rows[-2:]
    rows[-2:] = [r.rsplit(",", 1)[0] + ",malignant" for r in rows[-2:]]
    (folder / "table.csv").write_text("\n".join(rows) + "\n")


def no_peaks_on_the_test_chromosome(folder: Path, config: dict) -> None:
    """Peaks only on chr1 and chr2: the test chromosome chr3 gets no example at all."""
    (folder / "peaks.bed").write_text(
        "\n".join(line for line in bed_lines() if not line.startswith("chr3")) + "\n"
    )
    config["datasets"]["d"]["negatives"] = {"method": "gc_matched", "ratio": 1}


def second_class_off_the_test_chromosome(folder: Path, config: dict) -> None:
    """Two classes of regions, no negatives; the second class has none on chr3 (the test split)."""
    (folder / "other.bed").write_text("chr1\t2850\t2900\to1\t0\t+\nchr2\t2850\t2900\to2\t0\t+\n")
    config["datasets"]["d"]["regions"]["other"] = "other.bed"
    config["datasets"]["d"]["negatives"] = {"method": "none"}


def genome_bytes_with(chrom: str, position: int, raw: bytes) -> bytes:
    """The genome FASTA's bytes with ``raw`` written over ``chrom`` from 1-based ``position`` on."""
    marker = "\x07" * len(raw)
    return genome_with(chrom, position, marker).encode().replace(marker.encode(), raw, 1)


def with_bytes(path: str, number: int, raw: bytes) -> Callable[[Path, dict], None]:
    """A mutation putting ``raw`` after the second character of 1-based line ``number`` of ``path``."""

    def mutate(folder: Path, config: dict) -> None:
        lines = (folder / path).read_bytes().split(b"\n")
        lines[number - 1] = lines[number - 1][:2] + raw + lines[number - 1][2:]
        (folder / path).write_bytes(b"\n".join(lines))

    return mutate


def encoded(path: str, encode: Callable[[str], bytes]) -> Callable[[Path, dict], None]:
    """A mutation re-writing ``path`` in another encoding or with other line ends."""

    def mutate(folder: Path, config: dict) -> None:
        (folder / path).write_bytes(encode((folder / path).read_text()))

    return mutate


def config_file_ending(extra: str) -> Callable[[Path, dict], None]:
    """A mutation writing the config as a YAML file (as a user does), ``extra`` appended."""

    def mutate(folder: Path, config: dict) -> None:
        (folder / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False) + extra)

    return mutate


def feature_cell(line: int, value: str) -> Callable[[Path, dict], None]:
    """A mutation setting the 'size' cell (column 2) of table.csv's 1-based ``line``."""
    return edit_line("table.csv", line, lambda text: text.replace(text.split(",")[1], value, 1))


def quoted_cell_over_two_lines_then_a_bad_label(folder: Path, config: dict) -> None:
    """Line 4-5 is one row whose colour is quoted over two lines; file line 12 has a bad label."""
    rows = table_lines()
    rows[3] = rows[3].replace(",red,", ',"dark\nred",').replace(",blue,", ',"dark\nblue",')
    rows[10] = rows[10].rsplit(",", 1)[0] + ",benign?"
    (folder / "table.csv").write_text("\n".join(rows) + "\n")


def a_regression_target(folder: Path, config: dict) -> None:
    dataset = config["datasets"]["d"]
    dataset.update(task="regression", label_columns=["density"])
    del dataset["classes"]


@dataclass(frozen=True)
class Case:
    name: str
    base: str  # a key of DATASETS
    mutate: Callable[[Path, dict], None]
    expected: tuple[str, ...]  # fragments of the one message: file, record/line/key, expectation


BAD = [
    # DNA: the genome FASTA
    Case(
        "FASTA without a header",
        "genome",
        write("genome.fa", "ACGT" * 30 + "\n"),
        ("genome.fa, line 1:", "expected a FASTA header starting with '>'"),
    ),
    Case("empty FASTA", "genome", write("genome.fa", ""), ("genome.fa:", "empty", "expected")),
    Case(
        "gzip-compressed FASTA",
        "genome",
        both(gzipped("genome.fa"), set_key("datasets.d.genome", "genome.fa.gz")),
        ("genome.fa.gz: is gzip-compressed", "expected an uncompressed FASTA file", "gunzip -k genome.fa.gz"),
    ),
    Case(
        "FASTA with headers but no sequence",
        "sequences",
        write("bound.fa", ">a\n>b\n"),
        ("bound.fa", "record 'a'", "expected"),
    ),
    Case(
        "character outside the DNA alphabet",
        "genome",
        write("genome.fa", genome_with("chr1", 404, "U")),
        ("genome.fa, record 'chr1', position 404, line 8:", "invalid character 'U'", "expected A, C, G, T"),
    ),
    Case(
        "duplicate record names",
        "genome",
        write("genome.fa", fasta_text(genome_records()) + ">chr2\n" + "ACGT" * 20 + "\n"),
        ("genome.fa", "'chr2'", "expected"),
    ),
    Case(
        "lines of unequal length in a record",
        "genome",
        write(
            "genome.fa", fasta_text(genome_records()).replace("\n", "\nAC\n", 3).replace("\nAC\n", "\n", 1)
        ),
        ("genome.fa", "line", "expected"),
    ),
    Case(
        "duplicate record names in a sequence file",
        "sequences",
        write("bound.fa", fasta_text(sequence_records()) + ">seq3\nACGTACGT\n"),
        ("bound.fa", "'seq3'", "expected"),
    ),
    # DNA: BED / narrowPeak
    Case(
        "BED start > end",
        "genome",
        edit_line("peaks.bed", 4, lambda line: "chr1\t900\t800\tbroken\t0\t+"),
        ("peaks.bed, line 4:", "end must be greater than start", "start=900 end=800"),
    ),
    Case(
        "BED negative coordinate",
        "genome",
        edit_line("peaks.bed", 2, lambda line: "chr1\t-20\t40\tneg\t0\t+"),
        ("peaks.bed, line 2:", "start must be >= 0", "-20"),
    ),
    Case(
        "BED non-integer coordinate",
        "genome",
        edit_line("peaks.bed", 3, lambda line: "chr1\t1e3\t1060\tsci\t0\t+"),
        ("peaks.bed, line 3:", "integers", "'1e3'"),
    ),
    Case(
        "BED with spaces instead of tabs",
        "genome",
        edit_line("peaks.bed", 1, lambda line: line.replace("\t", " ")),
        ("peaks.bed, line 1:", "tab-separated", "found 1"),
    ),
    Case(
        "BED chromosome not in the genome",
        "genome",
        edit_line("peaks.bed", 5, lambda line: "chrX\t100\t200\tx\t0\t+"),
        ("peaks.bed, line 5:", "'chrX' is not in the genome", "chr1"),
    ),
    Case(
        "BED end past the chromosome end",
        "genome",
        edit_line("peaks.bed", 6, lambda line: f"chr2\t2950\t{CHROM_LENGTH + 10}\tp\t0\t+"),
        ("peaks.bed, line 6:", f"end {CHROM_LENGTH + 10} is past the end of chr2", f"length {CHROM_LENGTH}"),
    ),
    Case(
        "BED with an invalid strand",
        "genome",
        edit_line("peaks.bed", 7, lambda line: line[:-1] + "*"),
        ("peaks.bed, line 7:", "strand", "'*'"),
    ),
    Case(
        "narrowPeak summit outside its peak",
        "genome",
        edit_line("peaks.bed", 2, lambda line: line + "\t5.1\t-1\t-1\t75"),
        ("peaks.bed, line 2:", "summit", "75", "expected"),
    ),
    Case(
        "BED without records",
        "genome",
        write("peaks.bed", "# no peaks yet\ntrack name=empty\n"),
        ("peaks.bed", "no regions", "expected"),
    ),
    Case(
        "every interval filtered out",
        "genome",
        all_peaks_at_the_ends,
        ("peaks.bed", "chromosome end", "expected"),
    ),
    Case(
        "hold-out chromosome without regions",
        "genome",
        no_peaks_on_the_test_chromosome,
        ("peaks.bed, split 'test': no examples", "'test': {}", "expected examples in every split"),
    ),
    Case(
        "one class only in a split (DNA)",
        "genome",
        second_class_off_the_test_chromosome,
        ("peaks.bed, other.bed, split 'test': holds only the class 'peak'", "expected at least two classes"),
    ),
    # Tables
    Case(
        "table without its label column",
        "table",
        drop_table_column("diagnosis"),
        ("table.csv, header:", "'diagnosis'", "not found"),
    ),
    Case(
        "non-numeric feature",
        "table",
        edit_line("table.csv", 8, lambda line: line.replace(line.split(",")[1], "12.5 cm", 1)),
        ("table.csv, line 8, column 'size':", "expected a number", "'12.5 cm'"),
    ),
    Case("all-NaN column", "table", empty_column, ("table.csv", "column 'density'", "no values")),
    Case(
        "missing label",
        "table",
        edit_line("table.csv", 10, lambda line: line.rsplit(",", 1)[0] + ","),
        ("table.csv, line 10, column 'diagnosis':", "missing label"),
    ),
    Case(
        "label outside the configured classes",
        "table",
        edit_line("table.csv", 12, lambda line: line.rsplit(",", 1)[0] + ",benign?"),
        ("table.csv, line 12, column 'diagnosis':", "'benign?'", "['benign', 'malignant']"),
    ),
    Case(
        "one class only in a split (table: a rare class)",
        "table",
        rare_class,
        (
            "table.csv, split 'validation': holds only the class 'benign'",
            "'malignant': 2",
            "expected at least two classes",
        ),
    ),
    Case(
        "table with a header only",
        "table",
        write("table.csv", table_lines()[0] + "\n"),
        ("table.csv:", "no rows"),
    ),
    # Images
    Case("corrupt (truncated) image", "image", truncated_png, ("img3.png:", "not a readable image")),
    Case(
        "truncated NIfTI volume",
        "image",
        truncated_volume,
        ("brain.nii: not a readable NIfTI volume", "could the file be damaged?"),
    ),
    Case(
        "mask of the wrong size",
        "masks",
        small_mask,
        ("mask.png:", "mask size 48x20 does not match the image 64x64"),
    ),
    Case("unreadable slide", "image", unreadable_slide, ("slide.svs", "expected")),
    Case(
        "truncated whole-slide image",
        "image",
        truncated_slide,
        ("slide.tif: not a readable TIFF", "truncated", "expected a complete file"),
    ),
    Case(
        "sample sheet names a missing image",
        "image",
        edit_line("sheet.tsv", 3, lambda line: line.replace("img1", "img9")),
        ("sheet.tsv, line 3:", "image file not found: img9.png"),
    ),
    Case(
        "sample sheet with an unknown split",
        "image",
        edit_line("sheet.tsv", 2, lambda line: line.replace("train", "training")),
        ("sheet.tsv, line 2:", "split must be one of train, validation, test", "'training'"),
    ),
    # Configuration
    Case(
        "config key typo",
        "genome",
        rename_key("datasets.d.length", "lenght"),
        ("config, datasets.d:", "'lenght' (did you mean 'length'?)"),
    ),
    Case(
        "config value of the wrong type",
        "genome",
        set_key("datasets.d.length", "200bp"),
        ("config, datasets.d.length:", "expected an integer, found '200bp'"),
    ),
    Case(
        "unknown model kind",
        "genome",
        set_key("models.m.kind", "cnn3d"),
        ("config, models.m.kind:", "expected one of cnn1d, cnn2d, mlp, baseline", "'cnn3d'"),
    ),
    Case(
        "input file missing",
        "genome",
        set_key("datasets.d.regions", {"peak": "peaks.bed.gz"}),
        ("config, datasets.d.regions.peak:", "file not found: peaks.bed.gz"),
    ),
    Case(
        "run of a model on the wrong modality",
        "table",
        set_key("models.m", copy.deepcopy(MODELS["dna"])),
        ("config, runs.d:", "cnn1d", "takes dna datasets"),
    ),
    Case(
        "pooling wider than the sequence",
        "genome",
        set_key("models.m.conv_layers", [{"filters": 4, "kernel_size": 5, "pool_size": 200}]),
        (
            "config, runs.d: model m, conv_layers[0]:",
            "pool_size 200",
            f"expected pool_size <= {LENGTH - 4}",
            f"(the d sequences are {LENGTH} bases long)",
        ),
    ),
    Case(
        "pooling wider than the tile",
        "image",
        set_key("models.m.conv_layers", [{"filters": 4, "kernel_size": 3, "pool_size": 8}] * 2),
        (
            "config, runs.d: model m, conv_layers[1]:",
            "pool_size 8 exceeds the 4 pixels",
            "(the d tiles are 32 pixels wide)",
        ),
    ),
    Case(
        "tile autoencoder pooling past the tile",
        "image",
        set_key(
            "models.m",
            {
                "kind": "conv2d_autoencoder",
                "conv_layers": [{"filters": 4, "kernel_size": 3, "pool_size": 64}],
            },
        ),
        ("config, runs.d: model m, conv_layers[0]:", "pool_size 64 exceeds the 32 pixels"),
    ),
    # Found by probing (issue 18): silently wrong data, crashes, the wrong file blamed
    Case(
        "empty sequence cell in a sequence table",
        "sequence table",
        edit_line("seqs.csv", 5, lambda line: "," + line.split(",")[1]),
        ("seqs.csv, line 5, column 'sequence':", "no sequence", "expected a DNA sequence in every row"),
    ),
    Case(
        "NA as a sequence in a sequence table",
        "sequence table",
        edit_line("seqs.csv", 6, lambda line: "NA," + line.split(",")[1]),
        (
            "seqs.csv, line 6, column 'sequence':",
            "'NA' is an empty or missing value",
            "expected a DNA sequence",
        ),
    ),
    Case(
        "a sequence of N only",
        "sequences",
        write("bound.fa", fasta_text(sequence_records()) + ">unknown\n" + "N" * 50 + "\n"),
        ("bound.fa, record 'unknown':", "no A, C, G or T", "expected a DNA sequence with at least one base"),
    ),
    Case(
        "binary bytes inside a genome record",
        "genome",
        write("genome.fa", genome_bytes_with("chr1", 404, b"\x00")),
        ("genome.fa, record 'chr1', position 404, line 8:", "binary data (byte 0x00)", "expected A, C, G, T"),
    ),
    Case(
        "bytes that are not UTF-8 in a FASTA",
        "genome",
        write("genome.fa", genome_bytes_with("chr1", 404, b"\xff")),
        (
            "genome.fa, line 8:",
            "byte 0xff at column 44 is not UTF-8 text",
            "expected the FASTA file as UTF-8",
        ),
    ),
    Case(
        "binary bytes in a BED file",
        "genome",
        with_bytes("peaks.bed", 3, b"\x00\x00"),
        ("peaks.bed, line 3:", "binary data (byte 0x00 at column 3)", "expected the BED file as text"),
    ),
    Case(
        "chromosome hold-outs on sequence files whose names give no location",
        "sequences",
        set_key("datasets.d.split", {"validation": ["chr2"], "test": ["chr3"]}),
        ("bound.fa, record 'seq0':", "the name does not give a location", "chrom:start-end"),
    ),
    Case(
        "a task's chromosome named without the genome's chr prefix",
        "genome",
        with_tasks({"other": "chr1\t200\t300\n2\t200\t300\n"}),
        ("other.bed, line 2:", "chromosome '2' is not in the genome genome.fa", "the genome calls it 'chr2'"),
    ),
    Case(
        "a task without a positive in a split",
        "genome",
        with_tasks({"other": "chr1\t200\t300\nchr2\t200\t300\n"}),
        ("task 'other', split 'test':", "0 positive", "hold out other chromosomes"),
    ),
    Case(
        "chromosome hold-outs on a sequence table",
        "sequence table",
        set_key("datasets.d.split", {"validation": ["chr2"], "test": ["chr3"]}),
        ("config, datasets.d.split.validation:", "does not apply", "set split.validation_fraction"),
    ),
    Case(
        "a location that is not chrom:start-end in a sequence table",
        "sequence table",
        located_table(4, "peak7"),
        (
            "seqs.csv, line 4, column 'region':",
            "'peak7' does not give a location",
            "expected chrom:start-end",
        ),
    ),
    Case(
        "a group column with chromosome hold-outs on a sequence table",
        "sequence table",
        located_table(2, "chr1:1-50", group_column="locus"),
        ("config, datasets.d.table.group_column:", "does not apply with split.validation", "give one of"),
    ),
    Case(
        "a random split fraction on genome input",
        "genome",
        set_key("datasets.d.split.test_fraction", 0.2),
        ("config, datasets.d.split.test_fraction:", "does not apply", "holds out whole chromosomes"),
    ),
    Case(
        "GC-matched negatives without a genome",
        "sequences",
        set_key("datasets.d.negatives", {"method": "gc_matched"}),
        (
            "config, datasets.d.negatives.method:",
            "gc_matched draws negatives from a genome",
            "method: shuffle",
        ),
    ),
    Case(
        "a blacklist for shuffled negatives",
        "genome",
        set_key("datasets.d.negatives", {"method": "shuffle", "blacklist": "peaks.bed"}),
        ("config, datasets.d.negatives.blacklist:", "does not apply", "gc_matched"),
    ),
    Case(
        "negatives for a regression table",
        "sequence table",
        both(
            edit_line("seqs.csv", 1, lambda line: "sequence,score"),
            set_key(
                "datasets.d.table",
                {
                    "path": "seqs.csv",
                    "sequence_column": "sequence",
                    "label_columns": ["score"],
                    "task": "regression",
                },
            ),
            set_key("datasets.d.negatives", {"method": "shuffle"}),
        ),
        ("config, datasets.d.negatives.method:", "a regression or multi-label table has no class for them"),
    ),
    Case(
        "a window anchor for whole sequences",
        "sequences",
        set_key("datasets.d.anchor", "centre"),
        ("config, datasets.d.anchor:", "does not apply", "centre-cropped"),
    ),
    Case(
        "infinite value in a feature column",
        "table",
        feature_cell(8, "inf"),
        ("table.csv, line 8, column 'size':", "expected a finite number, found 'inf'"),
    ),
    Case(
        "number beyond the 32-bit float range",
        "table",
        feature_cell(9, "1e39"),
        ("table.csv, line 9, column 'size':", "found '1e39'", "32-bit floats, within"),
    ),
    Case(
        "infinite regression target",
        "table",
        both(
            a_regression_target,
            edit_line("table.csv", 7, lambda line: line.replace(line.split(",")[2], "-inf", 1)),
        ),
        ("table.csv, line 7, column 'density':", "expected a number (regression target), found '-inf'"),
    ),
    Case(
        "an id on two rows",
        "table",
        edit_line("table.csv", 5, lambda line: "s1," + line.split(",", 1)[1]),
        ("table.csv, line 5, column 'id':", "id 's1' is also on line 3", "expected one row per id"),
    ),
    Case(
        "a row with more cells than the header",
        "table",
        edit_line("table.csv", 7, lambda line: line + ",extra"),
        (
            "table.csv, line 7:",
            "6 cells, but the header (line 1) names 5 columns",
            "expected one cell per column",
        ),
    ),
    Case(
        "a row with fewer cells than the header",
        "table",
        edit_line("table.csv", 7, lambda line: line.rsplit(",", 1)[0]),
        ("table.csv, line 7:", "4 cells, but the header (line 1) names 5 columns"),
    ),
    Case(
        "a quoted cell that is never closed",
        "table",
        edit_line("table.csv", 4, lambda line: line.replace(",red,", ',"red,').replace(",blue,", ',"blue,')),
        (
            "table.csv, line 4:",
            "a quoted cell that starts on this line is never closed",
            "expected a closing",
        ),
    ),
    Case(
        "a bad label after a quoted cell over two lines",
        "table",
        quoted_cell_over_two_lines_then_a_bad_label,
        ("table.csv, line 12, column 'diagnosis':", "'benign?'"),
    ),
    Case(
        "table not in UTF-8 (Latin-1)",
        "table",
        both(
            edit_line(
                "table.csv", 6, lambda line: line.replace("red", "rouge fonc\xe9").replace("blue", "bleu\xe9")
            ),
            encoded("table.csv", lambda text: text.encode("latin-1")),
        ),
        ("table.csv, line 6:", "byte 0xe9", "is not UTF-8 text", "iconv -f latin1 -t utf-8"),
    ),
    Case(
        "NA as a label that is not a class",
        "table",
        edit_line("table.csv", 10, lambda line: line.rsplit(",", 1)[0] + ",NA"),
        (
            "table.csv, line 10, column 'diagnosis':",
            "missing label",
            "if it is a class name, list it in classes",
        ),
    ),
    Case(
        "sample sheet row with more cells than the header",
        "image",
        edit_line("sheet.tsv", 3, lambda line: line + "\tpatient7"),
        ("sheet.tsv, line 3:", "more cells than the 3 header columns"),
    ),
    Case(
        "mask values outside the declared classes",
        "masks",
        set_key("datasets.d.classes", {"left": 1, "right": 3}),
        (
            "masks.tsv, split 'train': no tiles of class(es) 'right'",
            "the masks hold the values [1, 2]",
            "values [2] belong to no class",
            "values [3] are in no mask",
        ),
    ),
    Case(
        "mask settings for a sheet of labels",
        "image",
        set_key("datasets.d.labels", {"min_coverage": 0.8}),
        ("config, datasets.d.labels.min_coverage:", "does not apply", "mask column"),
    ),
    Case(
        "split fractions with a split column in the sheet",
        "image",
        set_key("datasets.d.split", {"validation_fraction": 0.2}),
        ("config, datasets.d.split.validation_fraction:", "does not apply", "split column"),
    ),
    Case(
        "integer setting written as 2.0",
        "table",
        set_key("models.m.training", {"epochs": 2.0}),
        ("config, models.m.training.epochs:", "expected an integer, found 2.0"),
    ),
    Case(
        "seed written as 5.0",
        "table",
        set_key("seed", 5.0),
        ("config, seed:", "expected an integer, found 5.0"),
    ),
    Case(
        "sequence length written as 100.0",
        "genome",
        set_key("datasets.d.length", 100.0),
        ("config, datasets.d.length:", "expected an integer, found 100.0"),
    ),
    Case(
        "a datasets section written twice in the config file",
        "genome",
        config_file_ending("datasets:\n  other: {modality: table}\n"),
        (
            "config.yaml, line",
            "duplicate key 'datasets' at the top level (first on line",
            "expected each key once",
        ),
    ),
    Case(
        "a dataset written twice in the config file",
        "genome",
        lambda folder, config: (folder / CONFIG_FILE).write_text(
            yaml.safe_dump(config, sort_keys=False).replace(
                "datasets:\n", "datasets:\n  d: {modality: table}\n", 1
            )
        ),
        ("config.yaml, line", "duplicate key 'd' under datasets (first on line", "expected each key once"),
    ),
    Case(
        "a FASTA record without a name",
        "sequences",
        write("bound.fa", ">\nACGTACGTAC\n" + fasta_text(sequence_records())),
        ("bound.fa, line 1:", "a '>' line without a record name", "expected '>name'"),
    ),
    Case(
        "numbers written with a decimal comma",
        "table",
        encoded(
            "table.csv",
            lambda text: re.sub(r"^(s\d+),(\d+)\.(\d+),", r'\1,"\2,\3",', text, flags=re.M).encode(),
        ),
        (
            "table.csv, line 2, column 'size':",
            "looks like a number written with a comma",
            "expected plain numbers",
        ),
    ),
    Case(
        "a table separated by semicolons",
        "table",
        encoded("table.csv", lambda text: text.replace(",", ";").encode()),
        ("table.csv, header:", "the file looks separated by ';'", "expected commas (a .csv file)"),
    ),
    Case(
        "an Excel workbook given as the table",
        "table",
        both(
            lambda folder, config: (folder / "table.xlsx").write_bytes(b"PK\x03\x04" + bytes(60)),
            set_key("datasets.d.path", "table.xlsx"),
        ),
        ("table.xlsx:", "is a ZIP archive (an Excel workbook?)", "expected the feature table as text"),
    ),
    Case(
        "a row without a group",
        "table",
        both(
            set_key("datasets.d.group_column", "colour"),
            edit_line("table.csv", 5, lambda line: re.sub(",(red|blue),", ",,", line)),
        ),
        ("table.csv, line 5, column 'colour':", "no group", "expected a group in every row"),
    ),
    Case(
        "an identifier column left among the features",
        "table",
        lambda folder, config: config["datasets"]["d"].pop("id_column"),
        ("table.csv, column 'id':", "has another value on every row", "expected id_column"),
    ),
    Case(
        "a setting written as .nan",
        "table",
        set_key("models.m.training", {"learning_rate": float("nan")}),
        ("config, models.m.training.learning_rate:", "expected a (finite) number, found nan"),
    ),
    Case(
        "an image given as the sample sheet",
        "image",
        set_key("datasets.d.sample_sheet", "img0.png"),
        ("img0.png: is a PNG image, not text", "expected the sample sheet as text"),
    ),
    Case(
        "a model started from its own weights",
        "table",
        both(
            set_key("models.n", {"kind": "mlp", "init_from": {"dataset": "d", "model": "m"}}),
            set_key("models.m.init_from", {"dataset": "d", "model": "n"}),
        ),
        ("config, models.m.init_from:", "starts m from its own weights (m <- n <- m)", "expected a chain"),
    ),
]

# Inputs that look odd but are fine: they must give exactly the clean input's output.
WORKS = [
    (
        "FASTA with Windows line endings",
        "genome",
        write("genome.fa", fasta_text(genome_records(), newline="\r\n")),
    ),
    (
        "stale .fai beside the FASTA",
        "genome",
        write("genome.fa.fai", "chr1\t10\t6\t60\t61\nchr9\t5\t0\t60\t61\n"),
    ),
    (
        "BED with header, track and browser lines",
        "genome",
        write(
            "peaks.bed",
            "browser position chr1:1-1000\ntrack name=peaks\n#chrom\tstart\tend\n"
            + "\n".join(bed_lines())
            + "\n",
        ),
    ),
    ("BED with Windows line endings", "genome", write("peaks.bed", "\r\n".join(bed_lines()) + "\r\n")),
    ("table with Windows line endings", "table", write("table.csv", "\r\n".join(table_lines()) + "\r\n")),
    (
        "FASTA with a UTF-8 byte-order mark",
        "genome",
        encoded("genome.fa", lambda text: codecs.BOM_UTF8 + text.encode()),
    ),
    (
        "FASTA with old Mac (CR) line ends",
        "genome",
        encoded("genome.fa", lambda text: text.replace("\n", "\r").encode()),
    ),
    (
        "FASTA with CRLF and LF line ends mixed",
        "genome",
        encoded("genome.fa", lambda text: text.replace("\n", "\r\n", 40).encode()),
    ),
    (
        "sequence FASTA with old Mac (CR) line ends",
        "sequences",
        encoded("bound.fa", lambda text: text.replace("\n", "\r").encode()),
    ),
    (
        "BED with a UTF-8 byte-order mark",
        "genome",
        encoded("peaks.bed", lambda text: codecs.BOM_UTF8 + text.encode()),
    ),
    (
        "BED with old Mac (CR) line ends",
        "genome",
        encoded("peaks.bed", lambda text: text.replace("\n", "\r").encode()),
    ),
    (
        "table with a UTF-8 byte-order mark",
        "table",
        encoded("table.csv", lambda text: codecs.BOM_UTF8 + text.encode()),
    ),
    (
        "table with old Mac (CR) line ends",
        "table",
        encoded("table.csv", lambda text: text.replace("\n", "\r").encode()),
    ),
    (
        "table saved as UTF-16 with its byte-order mark",
        "table",
        encoded("table.csv", lambda text: text.encode("utf-16")),
    ),
    (
        "table with a separator closing every line",
        "table",
        encoded("table.csv", lambda text: text.replace("\n", ",\n").encode()),
    ),
    (
        "sample sheet with a byte-order mark and CR line ends",
        "image",
        encoded("sheet.tsv", lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r").encode()),
    ),
    (
        "sequence table with Windows line endings",
        "sequence table",
        encoded("seqs.csv", lambda text: text.replace("\n", "\r\n").encode()),
    ),
]


def check_case(folder: Path, case: Case) -> Outcome:
    write_inputs(folder)
    config = base_config(case.base)
    case.mutate(folder, config)
    return prepare(folder, config)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config paths are relative to the working directory, as in a Snakemake run."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", BAD, ids=[c.name for c in BAD])
def test_bad_input_gives_one_clear_message_and_no_output(folder: Path, case: Case) -> None:
    outcome = check_case(folder, case)
    assert outcome.exit_code == 1, outcome.log
    message = outcome.message
    for fragment in case.expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert str(folder) not in message and "/tmp" not in message  # the user's paths, as written
    assert "Traceback" not in outcome.log
    assert outcome.outputs == []


def outputs_of(folder: Path) -> dict[str, bytes]:
    """Every result file's bytes; skops archives by name only (their member names are object ids:
    what they hold shows in the shards they produced)."""
    results = folder / "results"
    return {
        str(p.relative_to(results)): b"" if p.suffix == ".skops" else p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("name, base, mutate", WORKS, ids=[w[0] for w in WORKS])
def test_odd_but_valid_input_gives_the_clean_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    base: str,
    mutate: Callable[[Path, dict], None],
) -> None:
    produced = {}
    for variant in ("clean", "odd"):
        folder = tmp_path / variant
        folder.mkdir()
        monkeypatch.chdir(folder)
        write_inputs(folder)
        config = base_config(base)
        if variant == "odd":
            mutate(folder, config)
        outcome = prepare(folder, config)
        assert outcome.exit_code == 0 and not outcome.errors, outcome.log
        produced[variant] = outputs_of(folder)
    assert "prepared/d/dataset.json" in produced["clean"]
    assert produced["odd"] == produced["clean"]


def test_a_gzip_compressed_bed_gives_the_clean_output_under_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    produced = {}
    for variant in ("clean", "gzip"):
        folder = tmp_path / variant
        folder.mkdir()
        monkeypatch.chdir(folder)
        write_inputs(folder)
        config = base_config("genome")
        if variant == "gzip":
            gzipped("peaks.bed")(folder, config)
            (folder / "peaks.bed").unlink()
            config["datasets"]["d"]["regions"] = {"peak": "peaks.bed.gz"}
        outcome = prepare(folder, config)
        assert outcome.exit_code == 0 and not outcome.errors, outcome.log
        produced[variant] = outputs_of(folder)
    metadata = "prepared/d/metadata.tsv"
    assert produced["gzip"][metadata] == produced["clean"][metadata].replace(
        b"\tpeaks.bed\t", b"\tpeaks.bed.gz\t"
    )
    assert {k: v for k, v in produced["gzip"].items() if k != metadata} == {
        k: v for k, v in produced["clean"].items() if k != metadata
    }


def test_a_class_named_like_a_missing_value_and_columns_named_like_pandas_copies_are_valid(
    folder: Path,
) -> None:
    write_inputs(folder)
    rows = [line.replace(",benign", ",NA") for line in table_lines()]
    rows[0] = rows[0].replace("density", "size.1")  # two columns: size and size.1
    (folder / "table.csv").write_text("\n".join(rows) + "\n")
    config = base_config("table")
    config["datasets"]["d"]["classes"] = ["NA", "malignant"]
    outcome = prepare(folder, config)
    assert outcome.exit_code == 0 and not outcome.errors, outcome.log
    description = yaml.safe_load((folder / "results/prepared/d/dataset.json").read_text())
    assert description["classes"] == ["NA", "malignant"]
    assert {"size", "size.1"} <= set(description["feature_names"])


def test_every_case_has_its_own_name_and_the_matrix_is_large_enough() -> None:
    names = [c.name for c in BAD] + [w[0] for w in WORKS]
    assert len(set(names)) == len(names)
    assert len(BAD) >= 70 and len(WORKS) >= 15


def test_the_documentation_lists_every_case_with_its_message() -> None:
    rows = {
        line.split(" | ")[0][2:]: line
        for line in (ROOT / "docs" / "bad-inputs.md").read_text().splitlines()
        if line.startswith("| ")
    }
    for case in BAD:
        assert case.name in rows, f"docs/bad-inputs.md has no row for {case.name!r}"
        for fragment in case.expected:
            assert fragment in rows[case.name], (
                f"docs/bad-inputs.md, {case.name!r}: {fragment!r} not in the message"
            )
    assert all(name in rows for name, _, _ in WORKS)
    assert "(docs/bad-inputs.md)" in (ROOT / "README.md").read_text()


# --- through Snakemake ------------------------------------------------------------------------


@pytest.mark.workflow
def test_snakemake_reports_bad_input(tmp_path: Path) -> None:
    """Three bad datasets (DNA, table, image) in one real run: each job fails with its message on
    stderr and in its log, and Snakemake keeps no output of theirs (a dry run wants them all again)."""
    write_inputs(tmp_path)
    write("genome.fa", genome_with("chr2", 201, "X"))(tmp_path, {})
    drop_table_column("diagnosis")(tmp_path, {})
    truncated_png(tmp_path, {})
    config = {
        "seed": 5,
        "datasets": {"dna": DATASETS["genome"], "tab": DATASETS["table"], "img": DATASETS["image"]},
        "models": {"cnn": MODELS["dna"], "mlp": MODELS["table"], "tiles": MODELS["image"]},
        "runs": {"dna": ["cnn"], "tab": ["mlp"], "img": ["tiles"]},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    args = ["--snakefile", str(ROOT / "Snakefile"), "--configfile", "config.yaml", "--cores", "2"]
    targets = [f"results/prepared/{dataset}/dataset.json" for dataset in config["datasets"]]
    run = subprocess.run(
        [SNAKEMAKE, *targets, *args, "--keep-going"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "Error in rule prepare_image" in run.stderr, run.stderr[-3000:]
    expected = {
        "dna": "genome.fa, record 'chr2', position 201, line 56: invalid character 'X'",
        "tab": "table.csv, header: column(s) ['diagnosis'] not found",
        "img": "img3.png: not a readable image",
    }
    for dataset, message in expected.items():
        log = (tmp_path / f"logs/prepare/{dataset}.log").read_text()
        assert message in log and "Traceback" not in log, log
        assert len([line for line in log.splitlines() if " ERROR " in line]) == 1
        assert message in run.stderr
    assert [p for p in tmp_path.glob("results/**/*") if p.is_file()] == []
    dry = subprocess.run(
        [SNAKEMAKE, *targets, *args, "-n", "--quiet", "rules"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"prepare_dna\s+1", dry.stdout) and re.search(r"prepare_table\s+1", dry.stdout)
    assert re.search(r"prepare_image\s+1", dry.stdout)


@pytest.mark.workflow
def test_snakemake_reports_a_config_error_before_any_job(tmp_path: Path) -> None:
    write_inputs(tmp_path)
    config = base_config("genome")
    config["models"]["m"]["kind"] = "cnn3d"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--configfile", "config.yaml", "--cores", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert (
        "Invalid configuration: config, models.m.kind: "
        "expected one of cnn1d, cnn2d, mlp, baseline, basset, deepsea, danq, dilated_resnet, "
        "attention_mil, dense_autoencoder, conv_autoencoder, conv2d_autoencoder, found 'cnn3d'" in run.stderr
    ), run.stderr[-3000:]
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


@pytest.mark.workflow
def test_snakemake_refuses_a_key_written_twice_before_any_job(tmp_path: Path) -> None:
    """Snakemake itself keeps the last of two keys; common.smk re-reads the file and stops."""
    write_inputs(tmp_path)
    text = yaml.safe_dump(base_config("genome"), sort_keys=False)
    (tmp_path / "config.yaml").write_text(text + "datasets:\n  other: {modality: table}\n")
    run = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--configfile", "config.yaml", "-n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    line = len(text.splitlines()) + 1
    shown = run.stdout + run.stderr  # a dry run reports on standard output
    assert (
        f"Invalid configuration: config.yaml, line {line}: duplicate key 'datasets' at the top level "
        "(first on line 2)" in shown
    ), shown[-3000:]
    assert not (tmp_path / "results").exists()


def _print_tables() -> None:
    """Print the tables of docs/bad-inputs.md from the messages the cases give."""
    import os
    import tempfile

    start = Path.cwd()
    sections: dict[str, list[str]] = {}
    for case in BAD:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                outcome = check_case(Path(tmp), case)
            finally:
                os.chdir(start)
        message = " / ".join(outcome.errors) or "NO ERROR"
        section = (
            "Configuration"
            if message.startswith(("config, ", f"{CONFIG_FILE}, "))
            else SECTIONS[DATASETS[case.base]["modality"]]
        )
        sections.setdefault(section, []).append(f"| {case.name} | `{message}` |")
    for section in (*SECTIONS.values(), "Configuration"):
        print(f"## {section}\n\n| input | message |\n|---|---|")
        print("\n".join(sections[section]) + "\n")
    print("| input | result |\n|---|---|")
    for name, _, _ in WORKS:
        print(f"| {name} | the same output as the clean input |")


SECTIONS = {
    "dna": "DNA: FASTA, BED / narrowPeak, splits",
    "table": "Tables",
    "image": "Images and sample sheets",
}

if __name__ == "__main__":
    _print_tables()

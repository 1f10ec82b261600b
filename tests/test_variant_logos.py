"""biodl.apply.variant_logos: ISM logos of the top variants, checked on a model scored by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apply_fixtures import BIAS, WEIGHT, centre_model

from biodl.apply.trained import TrainedModel, load_trained
from biodl.apply.variant_effects import score_variants
from biodl.apply.variant_logos import explain_top, ism_heights, plot_top_variants, top_variants_html
from biodl.data.dna import encode
from biodl.data.dna.from_genome import Genome

LENGTH = 40


@pytest.fixture
def model(make_dataset: Callable[..., Path], tmp_path: Path) -> TrainedModel:
    # One strand only: the centre model's logit is WEIGHT * (centre base is A) - BIAS.
    return load_trained(make_dataset(length=LENGTH), [centre_model(LENGTH, tmp_path / "m.keras")], False)


def test_ism_puts_the_centre_bases_weight_on_it(model: TrainedModel) -> None:
    window = encode.to_codes("C" * 20 + "A" + "G" * 19, "test", "w")
    heights = ism_heights(model, window, 0)
    assert heights.shape == (LENGTH, 4)
    # Centre A: its three substitutions each lower the logit by WEIGHT: height WEIGHT on A.
    assert heights[20].tolist() == pytest.approx([WEIGHT, 0, 0, 0], abs=1e-4)
    assert np.abs(np.delete(heights, 20, axis=0)).max() < 1e-4  # nothing else matters
    # Centre C: one substitution (to A) raises the logit by WEIGHT: height -WEIGHT / 3 on C.
    other = ism_heights(model, encode.to_codes("C" * 40, "test", "w"), 0)
    assert other[20].tolist() == pytest.approx([0, -WEIGHT / 3, 0, 0], abs=1e-4)
    assert BIAS > 0  # the bias cancels in every change


def test_top_variants_are_explained_on_ref_and_alt(model: TrainedModel, tmp_path: Path) -> None:
    sequence = "".join(np.random.default_rng(4).choice(list("CGT"), 120))
    sequence = sequence[:59] + "A" + sequence[60:]  # 1-based position 60 is A
    (tmp_path / "g.fa").write_text(f">chr1\n{sequence}\n")
    genome = Genome.open(tmp_path / "g.fa", tmp_path / "index")
    variants = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1"],
            "pos": [60, 80],
            "id": ["loses_a", "nothing"],
            "ref": ["A", sequence[79]],
            "alt": ["CT", "A" if sequence[79] != "A" else "C"],  # an insertion, then an SNV
        }
    )
    effects = score_variants(model, variants, genome).effects
    assert effects["id"].iat[0] == "loses_a"
    (logo,) = explain_top(model, effects, genome, top=1, flank=5)
    assert logo.task == "bound" and logo.first == 55  # 5 bases before position 60
    assert logo.ref.shape == (5 + 2 + 5, 4)  # the longer allele (CT) and 5 bases either side
    assert logo.ref[5].tolist() == pytest.approx([WEIGHT, 0, 0, 0], abs=1e-4)
    assert logo.alt[5].tolist() == pytest.approx([0, -WEIGHT / 3, 0, 0], abs=1e-4)  # C at the centre
    figure = plot_top_variants([logo], tmp_path / "logos.png")
    assert (tmp_path / "logos.png").stat().st_size > 0
    assert [ax.get_title(loc="left") for ax in figure.axes] == [
        f"loses_a chr1:60 A>CT: REF, bound {effects['bound_ref'].iat[0]:.3f}",
        f"loses_a chr1:60 A>CT: ALT, bound {effects['bound_alt'].iat[0]:.3f} "
        f"(difference {effects['bound_diff'].iat[0]:+.3f})",
    ]
    assert int(figure.axes[0].get_xlim()[0] + 0.5) == 55
    page = top_variants_html(effects, 1)
    assert "loses_a" in page and "nothing" not in page

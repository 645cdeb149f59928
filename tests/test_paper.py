"""alexnet_lib.paper: the paper's numbers, written once."""

from __future__ import annotations

import pytest

from alexnet_lib import paper


def test_the_paper_s_numbers_are_written_once():
    assert paper.value("table1_cnn_top5") == 17.0 and paper.where("one_patch_top1") == "Section 6, footnote"
    assert paper.value("table2_7cnn_star_top5_test") == 15.3 and paper.value("table2_sift_fv_top5_test") == 26.2
    with pytest.raises(KeyError, match="no paper number"):
        paper.value("table3")
    for name, *keys in paper.TABLE2:
        assert all(k is None or k in paper.NUMBERS for k in keys), name

"""alexnet_lib.recorded: the results and arrays of recorded runs."""

from __future__ import annotations

import pytest

from alexnet_lib import recorded


def test_recorded_results_and_their_arrays():
    names = recorded.names("imagenette_")
    for name in names:
        result = recorded.load(name)
        assert "machine" in result
    for name in recorded.names("imagenette_full_"):
        arrays = recorded.load_arrays(name)
        assert arrays["kernels"].shape[1:] == (3, 11, 11)
    with pytest.raises(FileNotFoundError, match="no recorded arrays"):
        recorded.load_arrays("nothing_here")

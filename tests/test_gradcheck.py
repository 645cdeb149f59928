"""alexnet_lib.gradcheck: the finite-difference gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_lib.gradcheck import numerical_gradient, relative_error


def test_gradcheck_tells_right_from_wrong():
    x = np.random.default_rng(0).normal(size=(3, 4))
    dout = np.ones_like(x)
    numeric = numerical_gradient(lambda v: v**3, x.copy(), dout)
    assert relative_error(3 * x**2, numeric) < 1e-8
    assert relative_error(2 * x**2, numeric) > 0.1
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(np.tanh, x.astype(np.float32), dout)

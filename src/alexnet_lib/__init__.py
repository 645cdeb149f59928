"""alexnet_lib: the library that the book *AlexNet, built up from a single convolution* builds.

Each module holds one idea that a chapter teaches first and later chapters import:

- :mod:`alexnet_lib.profiles` -- the execution profile (``smoke``, ``cpu``, ``gpu``) and ``setup()``
- :mod:`alexnet_lib.conv` -- convolution written with loops in numpy (Chapter 1)
- :mod:`alexnet_lib.filters` -- classic image filters (box, Gaussian, sharpen, Sobel, ...)
- :mod:`alexnet_lib.images` -- the sample photographs the chapters use
- :mod:`alexnet_lib.checks` -- self-checks for the reader's own implementations
- :mod:`alexnet_lib.widgets` -- interactive explorers that also work in the static book
"""

from __future__ import annotations

from .profiles import Profile, current_profile, setup
from .version import __version__

__all__ = ["Profile", "__version__", "current_profile", "setup"]

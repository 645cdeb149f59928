"""``python -m alexnet_lib.bench``: run a benchmark (see :mod:`alexnet_lib.bench`)."""

import sys

from .cli import main

sys.exit(main())

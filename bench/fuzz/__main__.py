"""``python3 -m bench.fuzz TARGET [--seconds N] [--runs N] ...``: see :mod:`bench.fuzz.engine`."""

import sys

from bench.fuzz.engine import main

sys.exit(main())

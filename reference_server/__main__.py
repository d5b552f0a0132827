"""``python -m reference_server APP [options]``: the same command line as
``reference-server``, for environments where the console script is not on PATH."""

from .cli import main

raise SystemExit(main())

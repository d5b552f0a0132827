"""``python -m conformance``: the suite's command line (the cases themselves run under pytest).

``compare``       run the suite against several servers and write one comparison report
                  (see :mod:`conformance.compare`).
``differential``  send the same mutated requests to several servers and report where
                  their interpretations differ (see :mod:`conformance.differential`).
``catalogue``     write the requirement catalogue page, docs/requirements.{md,html}
                  (see :mod:`conformance.catalogue_command`).
``servers``       list the named servers: installed, version, what each speaks
                  (see :mod:`conformance.server_list`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """usage: python -m conformance {compare,differential,catalogue,servers} [options]

commands:
  compare        run the suite against several servers and write
                 reports/comparison.html and reports/summary.md
                 (python -m conformance compare --help)
  differential   send the same mutated HTTP/1.1 requests and WebSocket frames to
                 several servers serving the probe app, cluster where their
                 interpretations differ, and write reports/differential.{json,md,html}
                 (python -m conformance differential --help)
  catalogue      write docs/requirements.{md,html}: every requirement, the cases
                 judging it and the named servers' verdicts from baselines/;
                 --check exits 1 when they are stale
                 (python -m conformance catalogue --help)
  servers        list the named servers, whether each is installed here, its
                 version and what it speaks (HTTP/1.1, WebSocket, h2c, h2 over TLS,
                 lifespan)

A single server is judged with pytest itself: pytest --server=NAME (see README)."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] == "compare":
        from conformance.compare import main as compare

        return compare(args[1:])
    if args[0] == "differential":
        from conformance.differential.cli import main as differential

        return differential(args[1:])
    if args[0] == "catalogue":
        from conformance.catalogue_command import main as catalogue

        return catalogue(args[1:])
    if args[0] == "servers":
        from conformance.server_list import main as servers

        return servers(args[1:])
    print(f"{USAGE}\n\nunknown command {args[0]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

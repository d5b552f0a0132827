"""``--requirement ID``: run only the cases that judge the named requirements.

Someone gating on the suite who sees ``HTTP-046`` fail wants to rerun just that
requirement's cases after a fix, and ``-k`` cannot do it: the requirement is a marker
argument, not part of a case's name. The option takes IDs (repeatable, or
comma-separated, any case), checks them against the catalogue before anything is
collected, so a typo is a one-line usage error naming the close matches, and deselects
every item that judges another requirement. A selection that leaves no case is an error
too: a green run that judged nothing would read as "the server passes HTTP-046".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from conformance.catalogue import CATALOGUE


class SelectionError(ValueError):
    """The ``--requirement`` values are unusable; the message is one line for the user."""


def parse_requirements(values: Iterable[str]) -> frozenset[str]:
    """The catalogued IDs named by the option's values (``HTTP-046``, ``http-046,
    RFC9112-6.1-1``...), or a :class:`SelectionError` naming what is unknown."""
    by_upper = {req_id.upper(): req_id for req_id in CATALOGUE}
    named = [part.strip() for value in values for part in value.split(",")]
    if not any(named):
        raise SelectionError("--requirement needs a requirement ID, e.g. --requirement HTTP-046")
    chosen: set[str] = set()
    for name in filter(None, named):
        req_id = by_upper.get(name.upper())
        if req_id is None:
            close = difflib.get_close_matches(name.upper(), list(by_upper), n=3, cutoff=0.6)
            hint = (f"close matches: {', '.join(by_upper[c] for c in close)}" if close
                    else "see docs/requirements.md for every ID")
            raise SelectionError(
                f"--requirement {name!r} is not in the catalogue; {hint}")
        chosen.add(req_id)
    return frozenset(chosen)


def nothing_selected(ids: Iterable[str]) -> str:
    """The one-line message for a selection that left no case to run."""
    return (f"--requirement {','.join(sorted(ids))}: no collected case judges "
            "that requirement (check -k, -m and the test paths given); nothing was run")

"""``python -m conformance servers`` and ``pytest --list-servers``: the named servers at a glance.

Before choosing ``--server=NAME`` a user wants to know which names exist, which of them
this environment can start (the suite runs named servers with its own interpreter, so
"installed" means importable here) and what each speaks, hence which groups of cases it
will be judged on rather than marked n/a. All of it is read from the server table
(:data:`conformance.servers.BUILTIN`): HTTP/2 from the ``h2c`` and ``h2_tls`` option
templates, WebSocket and lifespan unless the table says the server lacks them. Nothing
is started, so the listing is instant and never hangs.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.servers import BUILTIN, ServerSpec


@dataclass(frozen=True)
class ServerRow:
    name: str
    installed: bool
    version: str
    speaks: tuple[str, ...]


def installed(spec: ServerSpec) -> bool:
    """Whether the server's module can be found by this interpreter (not imported: a
    server's import may be slow or have side effects)."""
    if spec.module is None:
        return True
    try:
        return importlib.util.find_spec(spec.module) is not None
    except (ImportError, ValueError):
        return False


def speaks(spec: ServerSpec) -> tuple[str, ...]:
    """The protocols the server table says this server speaks."""
    found = ["HTTP/1.1"]
    if spec.lacks_reason("websocket") is None:
        found.append("WebSocket")
    if spec.option_template("h2c") is not None:
        found.append("h2c")
    if spec.option_template("h2_tls") is not None:
        found.append("h2 over TLS")
    if spec.lacks_reason("lifespan") is None:
        found.append("lifespan")
    return tuple(found)


def rows(specs: Iterable[ServerSpec] = BUILTIN.values()) -> list[ServerRow]:
    result = []
    for spec in specs:
        present = installed(spec)
        result.append(ServerRow(spec.name, present, spec.version() if present else "-",
                                speaks(spec)))
    return result


def render(table: Iterable[ServerRow]) -> str:
    """A plain, aligned text table (one server per line) for a terminal."""
    lines = [("server", "installed", "version", "speaks")]
    lines += [(r.name, "yes" if r.installed else "no", r.version, ", ".join(r.speaks))
              for r in table]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True))
        + "  " + line[3]
        for line in lines)


def main(argv: Iterable[str] = ()) -> int:
    extra = list(argv)
    if extra and extra != ["--help"] and extra != ["-h"]:
        print(f"python -m conformance servers: takes no arguments (got {' '.join(extra)})",
              file=sys.stderr)
        return 2
    if extra:
        print("usage: python -m conformance servers\n\nlist the named servers: installed "
              "here or not, version, and what each speaks (from conformance/servers.py)")
        return 0
    print(render(rows()))
    return 0

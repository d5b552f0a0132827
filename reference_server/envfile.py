"""A small, strict reader of dotenv files (``--env-file``).

Why not python-dotenv: it is one more dependency for thirty lines, and it is lenient in
ways that hide mistakes (a line it cannot parse is skipped with a warning, so a typo'd
variable silently keeps its default). Here every line is a comment, blank, or
``[export ]NAME=VALUE``, and anything else is a one-line error with the line number.

Values: unquoted (surrounding whitespace and a `` #comment`` after whitespace removed),
single-quoted (literal), or double-quoted (``\\n``, ``\\t``, ``\\"``, ``\\\\`` and ``\\$``
escapes). No variable expansion and no multi-line values: what the file says is what the
process gets.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class EnvFileError(ValueError):
    pass


def _double_quoted(body: str, where: str) -> tuple[str, str]:
    """The value of ``"..."`` (``body`` starts after the opening quote) and the rest."""
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"':
            return "".join(out), body[i + 1:]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise EnvFileError(f"{where}: unknown escape in a double-quoted value")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    raise EnvFileError(f"{where}: unterminated double-quoted value")


def parse_env(text: str, source: str = "--env-file") -> dict[str, str]:
    """The variables of dotenv ``text``, in order (a later line wins)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise EnvFileError(f"{where}: expected NAME=value, got {line[:40]!r}")
        name, value = match.group(1), match.group(2)
        if value.startswith("'"):
            end = value.find("'", 1)
            if end < 0:
                raise EnvFileError(f"{where}: unterminated single-quoted value")
            value, rest = value[1:end], value[end + 1:]
        elif value.startswith('"'):
            value, rest = _double_quoted(value[1:], where)
        else:
            value, rest = re.split(r"\s#", value, maxsplit=1)[0].strip(), ""
        rest = rest.strip()
        if rest and not rest.startswith("#"):
            raise EnvFileError(f"{where}: unexpected text after the quoted value")
        values[name] = value
    return values


def load_env_file(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"--env-file {path}: cannot read it: {exc}") from None
    return parse_env(text, f"--env-file {path}")

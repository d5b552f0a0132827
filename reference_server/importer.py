"""Turn the command line's ``"module:attribute"`` into the ASGI application.

Why a module of its own: a server's first contact with a user's code is this import,
and when it fails the user needs one line saying what is wrong — the spec's format, a
module that is not on ``sys.path``, a typo in the attribute, an object that is not an
application, a factory that blew up — not a traceback through the server's internals.
:class:`AppImportError` carries that line; the command line prints it and exits 1.

An ``ImportError`` raised *inside* the user's module (a missing dependency, say) is not
"module not found": the message names the user's module and quotes its own error, so
``No module named 'foo'`` is never mistaken for the app module being missing. Other
exceptions at import time are reported with the file and line they came from; the
original exception stays attached as ``__cause__`` for ``--log-level debug``.

Like uvicorn, the current working directory goes on ``sys.path`` first so that
``python -m reference_server app:app`` works from the application's directory.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any


class AppImportError(Exception):
    """The application could not be loaded; ``str()`` is one line for the user."""


def _one_line(text: str) -> str:
    """Collapse a (possibly multi-line) message into one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _describe(exc: BaseException) -> str:
    """``Type: message (file, line N)`` for an exception raised in user code."""
    name = type(exc).__name__
    message = _one_line(str(exc))
    if isinstance(exc, SyntaxError):
        # str(SyntaxError) already carries "(file, line N)".
        return f"{name}: {message}" if message else name
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    user_frames = [
        frame for frame in frames if not frame.filename.startswith("<frozen importlib")
    ]
    if user_frames:
        last = user_frames[-1]
        where = f" ({last.filename}, line {last.lineno})"
    return (f"{name}: {message}" if message else name) + where


def _type_name(obj: Any) -> str:
    """``"an int"``, ``"a dict"``: the object's type with its article."""
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _ensure_cwd_on_path() -> None:
    cwd = os.getcwd()
    if sys.path and sys.path[0] in ("", ".", cwd):
        return
    sys.path.insert(0, cwd)


def _is_dotted_identifier(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _import_module(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        # The module named in the spec (or one of its parent packages) is missing.
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            if missing == module_name:
                detail = f"no module named {missing!r}"
            else:
                detail = f"no package named {missing!r}"
            raise AppImportError(
                f"Could not import module {module_name!r}: {detail} "
                f"(working directory {os.getcwd()!r})"
            ) from exc
        raise AppImportError(f"Error importing {module_name!r}: {_one_line(str(exc))}") \
            from exc
    except ImportError as exc:
        raise AppImportError(f"Error importing {module_name!r}: {_one_line(str(exc))}") \
            from exc
    except Exception as exc:
        raise AppImportError(f"Error importing {module_name!r}: {_describe(exc)}") from exc


def resolve(spec: str) -> Any:
    """Import the module of ``spec`` and return the (possibly dotted) attribute, without
    calling or checking it. Raises :class:`AppImportError`."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not _is_dotted_identifier(module_name.strip()) \
            or not _is_dotted_identifier(attr.strip()):
        raise AppImportError(f'Invalid app spec {spec!r}: expected "module:attribute"')
    module_name, attr = module_name.strip(), attr.strip()

    _ensure_cwd_on_path()
    module = _import_module(module_name)

    obj: Any = module
    walked: list[str] = []
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            if walked:
                where = f"{'.'.join(walked)!r} ({_type_name(obj)}) has no attribute {part!r}"
                raise AppImportError(
                    f"Attribute {attr!r} not found in module {module_name!r}: {where}"
                ) from exc
            raise AppImportError(
                f"Attribute {attr!r} not found in module {module_name!r}"
            ) from exc
        walked.append(part)
    return obj


def check_app(spec: str, factory: bool) -> None:
    """What :func:`load_app` checks, except that a factory is found but not called (the
    command line's early check; the worker calls the factory once, in :func:`load_app`).
    """
    obj = resolve(spec)
    if not callable(obj):
        raise AppImportError(_not_callable(spec, obj, factory))


def _not_callable(spec: str, obj: Any, factory: bool) -> str:
    if factory:
        return f"App factory {spec!r} is not callable (it is {_type_name(obj)})"
    return (f"App {spec!r} is not callable (it is {_type_name(obj)}); "
            "expected an ASGI application")


def load_app(spec: str, factory: bool) -> Any:
    """Import ``spec`` (``"module:attribute"``, the attribute may be dotted) and return
    the application, calling the attribute first when ``factory`` is true.

    Raises :class:`AppImportError` with a one-line message on any failure.
    """
    obj = resolve(spec)
    if not callable(obj):
        raise AppImportError(_not_callable(spec, obj, factory))
    if not factory:
        return obj
    try:
        app = obj()
    except Exception as exc:
        raise AppImportError(f"App factory {spec!r} raised {_describe(exc)}") from exc
    if not callable(app):
        raise AppImportError(
            f"App factory {spec!r} returned {_type_name(app)}, "
            "which is not an ASGI application (not callable)"
        )
    return app

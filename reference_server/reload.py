"""``--reload``: new workers when the code changes (development only).

Why it rides on the supervisor's SIGHUP path rather than restarting a process: that path
already starts new workers first and retires the old ones only once the new ones serve
(a worker says READY over its pipe), so an edit that breaks the import leaves the old
workers serving and is logged, instead of leaving nothing listening; and the listening
socket never closes, so a browser's request during the reload waits in the backlog
instead of being refused.

Watching is ``watchfiles`` (an optional extra, ``pip install 'asgi-conformance[reload]'``:
Rust ``notify``, inotify on Linux, with its debounce), in a thread of the supervisor that
only sets a flag the supervisor's loop reads. Workers are forked, and a forked worker
would inherit the supervisor's already-imported copy of the application, so each new
worker first forgets (:func:`forget_modules`) the modules loaded from the watched
directories, and imports them afresh.

Filters (uvicorn's): a path counts when its name matches a ``--reload-include`` glob
(default ``*.py``) and neither its name nor any directory above it, within the watched
directory, matches a ``--reload-exclude`` glob (default: dot files and directories,
``*.py[cod]``, editor swap and backup files).
"""

from __future__ import annotations

import fnmatch
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .state import error_log

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".*", "*.py[cod]", "*.sw?", "*~", "__pycache__")


class ReloadUnavailable(Exception):
    pass


def require_watchfiles() -> None:
    """One line for the command line when the extra is not installed."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise ReloadUnavailable(
            "--reload needs watchfiles: pip install 'asgi-conformance[reload]' "
            "(or pip install watchfiles)") from None


class PathFilter:
    """The ``--reload-include``/``--reload-exclude`` decision for one path."""

    def __init__(self, roots: Sequence[str], include: Sequence[str],
                 exclude: Sequence[str]) -> None:
        self.roots = [Path(root).resolve() for root in roots]
        self.include = list(include)
        self.exclude = list(exclude)

    def __call__(self, _change: Any, path: str) -> bool:
        resolved = Path(path).resolve()
        parts: tuple[str, ...] = (resolved.name,)
        for root in self.roots:
            if resolved.is_relative_to(root):
                parts = resolved.relative_to(root).parts
                break
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in self.exclude):
            return False
        return any(fnmatch.fnmatch(resolved.name, pattern) for pattern in self.include)


class Watcher:
    """A thread watching ``dirs``; ``on_change`` is called (in that thread) with the
    changed paths that pass the filter. It must only set a flag."""

    def __init__(self, dirs: Sequence[str], include: Sequence[str], exclude: Sequence[str],
                 on_change: Callable[[list[str]], None]) -> None:
        self.dirs = list(dirs)
        self.filter = PathFilter(dirs, include, exclude)
        self.on_change = on_change
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="reload-watcher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        import watchfiles

        try:
            for changes in watchfiles.watch(*self.dirs, watch_filter=self.filter,
                                            stop_event=self.stop_event,
                                            raise_interrupt=False, rust_timeout=1000):
                self.on_change(sorted(path for _, path in changes))
        except Exception as exc:  # a vanished directory, an inotify limit
            error_log.error("--reload: watching stopped: %s", exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)


def forget_modules(dirs: Sequence[str]) -> None:
    """Drop from ``sys.modules`` what was imported from ``dirs`` (the application's own
    code), so the next import reads the files again. The server's own modules and
    installed packages stay: the running server holds their classes."""
    roots = [Path(d).resolve() for d in dirs]
    for name, module in list(sys.modules.items()):
        if name == "reference_server" or name.startswith("reference_server.") or \
                name == "__main__":
            continue
        file = getattr(module, "__file__", None)
        if not file or "site-packages" in file or "dist-packages" in file:
            continue
        path = Path(file).resolve()
        if any(path.is_relative_to(root) for root in roots):
            del sys.modules[name]

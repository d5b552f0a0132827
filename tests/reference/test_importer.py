"""``reference_server.importer``: loading "module:attribute", and one readable line for
every way that can fail."""

from __future__ import annotations

import itertools
import os
import sys
import textwrap

import pytest

from reference_server.importer import AppImportError, check_app, load_app, resolve

_counter = itertools.count()

APP_SOURCE = """
async def app(scope, receive, send):
    pass

class Holder:
    async def app(self, scope, receive, send):
        pass

holder = Holder()
not_callable = 42

def create_app():
    return app

def create_broken():
    raise RuntimeError("database unreachable")

def create_not_callable():
    return {"not": "an app"}

def create_needs_args(settings):
    return app
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """tmp_path as the working directory; sys.path and sys.modules restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def write_module(directory, source, name=None):
    """Write a module with a unique name (so sys.modules caching never leaks between
    tests) and return that name."""
    name = name or f"rs_importer_mod_{os.getpid()}_{next(_counter)}"
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def load_error(spec, factory=False):
    with pytest.raises(AppImportError) as info:
        load_app(spec, factory)
    message = str(info.value)
    assert "\n" not in message, message
    assert "Traceback" not in message
    return message


# -- success ----------------------------------------------------------------------------------


def test_loads_module_attribute_from_working_directory(workdir):
    mod = write_module(workdir, APP_SOURCE)
    app = load_app(f"{mod}:app", False)
    assert app is sys.modules[mod].app
    assert sys.path[0] == str(workdir)


def test_working_directory_is_not_added_twice(workdir):
    mod = write_module(workdir, APP_SOURCE)
    load_app(f"{mod}:app", False)
    load_app(f"{mod}:holder.app", False)
    assert sys.path.count(str(workdir)) == 1


def test_dotted_attribute(workdir):
    mod = write_module(workdir, APP_SOURCE)
    app = load_app(f"{mod}:holder.app", False)
    assert app == sys.modules[mod].holder.app


def test_module_in_package(workdir):
    pkg = f"rs_importer_pkg_{os.getpid()}_{next(_counter)}"
    (workdir / pkg).mkdir()
    (workdir / pkg / "__init__.py").write_text("")
    write_module(workdir / pkg, APP_SOURCE, name="main")
    app = load_app(f"{pkg}.main:app", False)
    assert app is sys.modules[f"{pkg}.main"].app


def test_factory_is_called(workdir):
    mod = write_module(workdir, APP_SOURCE)
    assert load_app(f"{mod}:create_app", True) is sys.modules[mod].app


def test_resolve_does_not_call_a_factory(workdir):
    mod = write_module(workdir, APP_SOURCE)
    assert resolve(f"{mod}:create_broken") is sys.modules[mod].create_broken


def test_check_app_finds_but_does_not_call_a_factory(workdir):
    mod = write_module(workdir, APP_SOURCE)
    check_app(f"{mod}:create_broken", True)  # would raise if called
    with pytest.raises(AppImportError, match="is not callable"):
        check_app(f"{mod}:not_callable", True)
    with pytest.raises(AppImportError, match="not found"):
        check_app(f"{mod}:nope", False)


def test_spaces_around_the_parts_are_tolerated(workdir):
    mod = write_module(workdir, APP_SOURCE)
    assert load_app(f" {mod} : app ", False) is sys.modules[mod].app


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["app", "mod:", ":app", "mod:app:x", "my mod:app", "mod:a-b",
                                  "mod:obj..app", ""])
def test_invalid_spec(workdir, spec):
    message = load_error(spec)
    assert message == f'Invalid app spec {spec!r}: expected "module:attribute"'


def test_module_not_found(workdir):
    message = load_error("rs_no_such_module_xyz:app")
    assert message.startswith("Could not import module 'rs_no_such_module_xyz'")
    assert "no module named 'rs_no_such_module_xyz'" in message


def test_parent_package_not_found(workdir):
    message = load_error("rs_no_such_pkg_xyz.sub:app")
    assert message.startswith("Could not import module 'rs_no_such_pkg_xyz.sub'")
    assert "'rs_no_such_pkg_xyz'" in message


def test_submodule_not_found(workdir):
    pkg = f"rs_importer_pkg_{os.getpid()}_{next(_counter)}"
    (workdir / pkg).mkdir()
    (workdir / pkg / "__init__.py").write_text("")
    message = load_error(f"{pkg}.missing:app")
    assert message.startswith(f"Could not import module '{pkg}.missing'")


def test_import_error_inside_the_module_is_that_error(workdir):
    mod = write_module(workdir, "import rs_missing_dependency_xyz\napp = None\n")
    message = load_error(f"{mod}:app")
    assert message == f"Error importing '{mod}': No module named 'rs_missing_dependency_xyz'"


def test_from_import_error_inside_the_module(workdir):
    mod = write_module(workdir, "from os import no_such_name_xyz\n")
    message = load_error(f"{mod}:app")
    assert message.startswith(f"Error importing '{mod}': cannot import name 'no_such_name_xyz'")


@pytest.mark.parametrize(("source", "error", "where"), [
    ("x = 1\ny = x / 0\n", "ZeroDivisionError: division by zero", ".py, line 2"),
    ("def broken(:\n    pass\n", "SyntaxError:", ".py"),
], ids=["exception", "syntax-error"])
def test_a_failing_import_names_the_error_and_where(workdir, source, error, where):
    mod = write_module(workdir, source)
    message = load_error(f"{mod}:app")
    assert message.startswith(f"Error importing '{mod}': {error}")
    assert f"{mod}{where}" in message


def test_multiline_exception_message_becomes_one_line(workdir):
    mod = write_module(workdir, 'raise RuntimeError("first line\\n  second line")\n')
    message = load_error(f"{mod}:app")
    assert "RuntimeError: first line second line" in message


def test_attribute_not_found(workdir):
    mod = write_module(workdir, APP_SOURCE)
    assert load_error(f"{mod}:nope") == f"Attribute 'nope' not found in module '{mod}'"


def test_dotted_attribute_not_found_names_the_missing_part(workdir):
    mod = write_module(workdir, APP_SOURCE)
    message = load_error(f"{mod}:holder.nope")
    assert message.startswith(f"Attribute 'holder.nope' not found in module '{mod}'")
    assert "'holder' (a Holder) has no attribute 'nope'" in message


def test_not_callable(workdir):
    mod = write_module(workdir, APP_SOURCE)
    message = load_error(f"{mod}:not_callable")
    assert message.startswith(f"App '{mod}:not_callable' is not callable (it is an int)")


def test_factory_not_callable(workdir):
    mod = write_module(workdir, APP_SOURCE)
    message = load_error(f"{mod}:not_callable", factory=True)
    assert message == f"App factory '{mod}:not_callable' is not callable (it is an int)"


def test_factory_raises(workdir):
    mod = write_module(workdir, APP_SOURCE)
    message = load_error(f"{mod}:create_broken", factory=True)
    assert message.startswith(
        f"App factory '{mod}:create_broken' raised RuntimeError: database unreachable")
    assert f"{mod}.py, line" in message


def test_factory_that_needs_arguments(workdir):
    mod = write_module(workdir, APP_SOURCE)
    message = load_error(f"{mod}:create_needs_args", factory=True)
    assert message.startswith(f"App factory '{mod}:create_needs_args' raised TypeError:")
    assert "settings" in message


def test_factory_returns_not_callable(workdir):
    mod = write_module(workdir, APP_SOURCE)
    message = load_error(f"{mod}:create_not_callable", factory=True)
    assert message.startswith(f"App factory '{mod}:create_not_callable' returned a dict")


def test_error_keeps_the_original_exception_as_cause(workdir):
    mod = write_module(workdir, "import rs_missing_dependency_xyz\n")
    with pytest.raises(AppImportError) as info:
        load_app(f"{mod}:app", False)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)

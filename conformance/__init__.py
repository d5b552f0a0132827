"""ASGI server conformance suite: a pytest plugin and the cases it runs."""

__version__ = "0.1.0"

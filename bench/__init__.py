"""Throughput benchmarks comparing the reference ASGI server against uvicorn.

Kept separate from the conformance suite: correctness is tested elsewhere, this package
only answers "is the reference server at least as fast as uvicorn on the same machine".
"""

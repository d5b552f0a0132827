"""The project's own tests: the harness (client, launcher, probe, plugin, reports)."""

pytest_plugins = ["pytester"]

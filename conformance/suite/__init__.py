"""The conformance cases. Each module covers one part of a spec; each case names the one
catalogued requirement it judges with ``@pytest.mark.requirement``."""

"""asyncio protocols: the thin I/O shell around the sans-I/O cores."""

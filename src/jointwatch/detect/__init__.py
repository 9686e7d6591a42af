"""Surveillance and anti-piracy detectors: pure functions over position batches plus small
per-vessel and per-pair state, shared by the live node and ``jointwatch detect``."""

"""Geography for the detectors: distances, land and distance to shore, user zones."""

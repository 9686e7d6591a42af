"""JointWatch: a joint maritime watch center node."""

__version__ = "0.3.0"

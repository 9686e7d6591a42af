"""JointWatch: a joint maritime watch center node."""

__version__ = "0.4.0"

"""Command groups mounted by :mod:`hccbm.cli`."""

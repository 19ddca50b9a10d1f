"""Stream processing (issue 13): windows, time and watermarks, and the windowed aggregate node."""

from playground.engine.streams import nodes  # noqa: F401  (registers the node type)

"""Redis Pub/Sub and Redis Streams (named ``redisx`` so that no import of the ``redis`` client
library could ever resolve to it; the engine does no I/O and never imports redis-py)."""

from playground.engine.redisx import nodes, traits  # noqa: F401  (register the node types, the matrix row)

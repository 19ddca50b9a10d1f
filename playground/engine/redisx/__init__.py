"""Redis Pub/Sub and Redis Streams (named ``redisx`` so that no import of the ``redis`` client
library could ever resolve to it; the engine does no I/O and never imports redis-py)."""

from playground.engine.redisx import nodes  # noqa: F401  (registers the node types)

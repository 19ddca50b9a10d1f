"""The test run's settings: the project's, with a secret key of the tests' own.

DEBUG is off by default and the server refuses the development key with DEBUG off, so tests
(and the Daphne processes they start, which inherit the environment) get a key here, before
playground.settings reads the environment.
"""

import os

os.environ.setdefault("FANOUT_SECRET_KEY", "tests-only-" + "k" * 50)

from playground.settings import *  # noqa: E402, F403

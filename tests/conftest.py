"""Settings shared by every test directory.

Hypothesis draws new random examples on every run, which is how the property tests keep finding
new cases on a developer's machine. CI runs with ``--hypothesis-profile=ci``: the same examples on
every run (derived from each test's name), so a red CI run is a regression in the code, not a new
draw; the cases a random run finds are kept as explicit ``@example`` lines.
"""

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)

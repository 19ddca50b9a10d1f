"""Settings shared by every test directory.

Hypothesis draws new random examples on every run, which is how the property tests keep finding
new cases on a developer's machine. CI runs with ``--hypothesis-profile=ci``: the same examples on
every run (derived from each test's name), so a red CI run is a regression in the code, not a new
draw; the cases a random run finds are kept as explicit ``@example`` lines.
"""

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)


def run(sim_or_document, seconds: float, step: float = 0.1, seed: int = 7, check=None, books: bool = True):
    """The tests' one way to run a simulation: advance ``sim_or_document`` (a Simulation as it is,
    or a document built with ``seed``) for ``seconds`` in steps of ``step``. After each step, with
    ``books``, every accounting stream balances (produced = acknowledged + in flight + waiting +
    dead-lettered + dropped, none of them negative), then ``check(sim)`` runs if given. Returns the
    simulation."""
    from playground import engine

    sim = sim_or_document
    if not isinstance(sim, engine.Simulation):
        sim = engine.Simulation(engine.parse_document(sim_or_document), seed)
    for _ in range(max(1, round(seconds / step))):
        sim.advance(step)
        if books:
            for stream in sim.streams():
                held = stream["acknowledged"] + stream["in_flight"] + stream["waiting"] + stream["dead_lettered"]
                assert stream["produced"] == held + sum(stream["dropped"].values()), stream
                assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"]) >= 0, stream
        if check is not None:
            check(sim)
    return sim

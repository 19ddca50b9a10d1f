"""Every ready topology (playground/examples) parses, says what to watch for, and keeps its
books: in every accounting stream, produced = acknowledged + in flight + waiting + dead-lettered
+ dropped at every 0.5 s tick of its first 20 simulated seconds."""

from __future__ import annotations

import pytest

from playground import engine, examples


@pytest.mark.parametrize("name", examples.names())
def test_example_parses_and_says_what_to_watch_for(name: str) -> None:
    doc = engine.parse_document(examples.load(name))
    assert doc.nodes
    assert len(examples.load(name).get("description", "")) > 40


@pytest.mark.parametrize("name", examples.names())
def test_every_stream_of_the_example_conserves_messages_at_every_tick(name: str) -> None:
    sim = engine.Simulation(engine.parse_document(examples.load(name)), seed=11, record_flow=False)
    for _ in range(40):
        sim.advance(0.5)
        for stream in sim.streams():
            rest = (stream["acknowledged"] + stream["in_flight"] + stream["waiting"]
                    + stream["dead_lettered"] + sum(stream["dropped"].values()))
            assert stream["produced"] == rest, (name, sim.now, stream)
            assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"],
                       stream["dead_lettered"]) >= 0, (name, sim.now, stream)
    moved = sim.metrics()["acknowledged"]
    assert moved > 0, f"{name}: nothing was acknowledged in 20 s"

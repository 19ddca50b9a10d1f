import numpy as np

from playground.engine.kernel import Kernel, uniform_hash


def test_events_at_the_same_instant_run_in_scheduling_order():
    kernel = Kernel(1)
    for name in ("a", "b", "c"):
        kernel.schedule(1.0, 0, name)
    order = []
    while (event := kernel.pop_due(2.0)) is not None:
        order.append(event[3])
    assert order == ["a", "b", "c"]


def test_clock_never_goes_back():
    kernel = Kernel(1)
    kernel.schedule(5.0, 0)
    kernel.pop_due(10.0)
    kernel.schedule(1.0, 0)
    assert kernel.pop_due(10.0)[0] == 5.0


def test_component_random_sources_depend_on_seed_and_name_only():
    a, b = Kernel(3).rng("x").random(4), Kernel(3).rng("x").random(4)
    assert (a == b).all()
    assert not (Kernel(3).rng("y").random(4) == a).all()
    assert not (Kernel(4).rng("x").random(4) == a).all()


def test_uniform_hash_is_stable_and_roughly_uniform():
    offsets = np.arange(100_000)
    values = uniform_hash(42, 3, offsets, 0)
    assert (values == uniform_hash(42, 3, offsets, 0)).all()
    assert 0.0 <= values.min() and values.max() < 1.0
    assert abs((values < 0.01).mean() - 0.01) < 0.002

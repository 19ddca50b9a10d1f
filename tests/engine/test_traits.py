"""Every system in the comparison matrix says something about every trait, and every ready
topology it points to exists and parses."""

from playground import engine, examples
from playground.engine.registry import TRAITS, systems


def test_the_systems_already_built_are_in_the_matrix():
    assert {"kafka", "rabbitmq", "redis_pubsub", "redis_streams"} <= {s.name for s in systems()}


def test_every_system_declares_every_trait_in_one_sentence():
    for system in systems():
        assert set(system.traits) == set(TRAITS), system.name
        for key, (sentence, _example) in system.traits.items():
            assert sentence.strip() and sentence.endswith("."), (system.name, key)


def test_every_named_example_exists_and_parses():
    names = set(examples.names())
    for system in systems():
        for key, (_sentence, example) in system.traits.items():
            if example is not None:
                assert example in names, f"{system.name}.{key} names a missing example {example!r}"
                engine.parse_document(examples.load(example))


def test_a_system_names_only_node_types_that_exist():
    known = {t.name for t in engine.node_types()}
    for system in systems():
        assert system.node_types and set(system.node_types) <= known, system.name

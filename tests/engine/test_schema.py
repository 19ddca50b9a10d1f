import jsonschema

from playground import engine, examples
from tests.engine.factories import kafka_doc


def test_schema_is_generated_from_every_node_type():
    schema = engine.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    variants = schema["properties"]["nodes"]["items"]["oneOf"]
    assert [v["properties"]["type"]["const"] for v in variants] == [t.name for t in engine.node_types()]
    group = next(v for v in variants if v["properties"]["type"]["const"] == "consumer_group")
    assert group["properties"]["params"]["properties"]["max_poll_records"]["default"] == 500


def test_schema_accepts_examples_and_exports():
    validator = jsonschema.Draft202012Validator(engine.json_schema())
    for name in examples.names():
        validator.validate(examples.load(name))
        validator.validate(engine.parse_document(examples.load(name)).to_dict())


def test_schema_rejects_out_of_bounds_parameters():
    validator = jsonschema.Draft202012Validator(engine.json_schema())
    assert not validator.is_valid(kafka_doc(partitions=1000))

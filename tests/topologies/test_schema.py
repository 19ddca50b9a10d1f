import json

import jsonschema
import pytest
from django.test import Client

from playground import engine, examples
from tests.topologies.factories import create, document

SCHEMA_URL = "/schema/topology.json"


def published_schema(client: Client) -> dict:
    response = client.get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_published_schema_is_the_engines_and_is_valid(client: Client) -> None:
    schema = published_schema(client)
    assert schema == engine.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", examples.names())
def test_published_schema_validates_the_shipped_examples(client: Client, name: str) -> None:
    validator = jsonschema.Draft202012Validator(published_schema(client))
    validator.validate(examples.load(name))


@pytest.mark.django_db
def test_published_schema_validates_an_export(client: Client) -> None:
    slug = create(client)
    exported = json.loads(client.get(f"/t/{slug}/export.json").content)
    jsonschema.Draft202012Validator(published_schema(client)).validate(exported)


def test_published_schema_rejects_bad_documents(client: Client) -> None:
    validator = jsonschema.Draft202012Validator(published_schema(client))
    out_of_bounds = document()
    out_of_bounds["nodes"][1]["params"]["partitions"] = 1000
    unknown_type = document()
    unknown_type["nodes"][0]["type"] = "mainframe"
    unknown_param = document()
    unknown_param["nodes"][0]["params"]["colour"] = "red"
    for bad in (out_of_bounds, unknown_type, unknown_param):
        assert not validator.is_valid(bad)

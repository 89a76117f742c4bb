"""DynamoDB item answers read as json.loads gives them, without botocore's model walk.

botocore's JSON parser loads the body and then walks the output model: one call per nested
AttributeValue, over its ten possible members (~0.27 ms per 1.7 KB task item against 0.05 ms for
json.loads: most of a list page's or list-by-condition's CPU, bench/results/2_warm_latency.md).
For the item operations the walk changes nothing but two types: binary values (base64-decoded)
and timestamps, and no timestamp occurs in their outputs. So their answers are taken as loaded
when the body holds no binary value; anything else (a binary value, an error answer, any other
operation) goes through botocore's own parser. Used by mjproxy's DynamoDB client (aws.client)
and by the local mode's direct item calls (local/direct.py); tests/integration/
test_local_direct.py compares both parsers on the same answers.
"""

from __future__ import annotations

from typing import Any

from botocore.parsers import JSONParser, ResponseParserFactory

# Outputs made of AttributeValues, counts, capacities and keys: no timestamp shapes.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
_OUTPUTS = frozenset(f"{op}Output" for op in ITEM_OPERATIONS)
# A binary AttributeValue in the answer: botocore decodes its base64, json.loads would not. In a
# JSON string a quote is escaped, so these only ever match a key.
_BINARY_MARKERS = ('"B":', '"BS":', '"B" :', '"BS" :')


class ItemAnswerParser(JSONParser):
    """botocore's JSON parser; an item operation's answer without binary values is taken as
    json.loads gives it."""

    def _handle_json_body(self, raw_body: Any, shape: Any) -> Any:
        if shape is not None and shape.name in _OUTPUTS:
            text = raw_body.decode("utf-8") if isinstance(raw_body, bytes) else raw_body
            if not any(m in text for m in _BINARY_MARKERS):
                return self._parse_body_as_json(raw_body)
        return super()._handle_json_body(raw_body, shape)


class _Factory(ResponseParserFactory):
    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return ItemAnswerParser(**self._defaults)
        return super().create_parser(protocol_name)


def use_item_answer_parser(client: Any) -> None:
    """Let a DynamoDB client read item answers with ItemAnswerParser. Leaves the client as it is
    if this botocore keeps its parser factory elsewhere (the default parser is always right)."""
    endpoint = getattr(client, "_endpoint", None)
    current = getattr(endpoint, "_response_parser_factory", None)
    if not isinstance(current, ResponseParserFactory):
        return
    factory = _Factory()
    factory.set_parser_defaults(**getattr(current, "_defaults", {}))
    endpoint._response_parser_factory = factory  # type: ignore[union-attr]

"""Which task upscales which quadrant of a grid, for the optional duplicate-upscale check
(protocol.md §5.3, code 21). The original searched every task for the description
`/up <parentId> U<n>`; here the parent's own item holds one attribute per quadrant
(`upscaleU1`..`upscaleU4` = the child's id), written conditionally, so finding the existing
upscale is one consistent read of the parent and two racing submits cannot both claim it.
Task objects never load these attributes (store/codec.py keeps only Task fields)."""

from __future__ import annotations

from typing import Any

from ..aws import client
from ..config import settings
from .tasks import Conflict


def attribute(index: int) -> str:
    return f"upscaleU{int(index)}"


class UpscaleMarks:
    def __init__(self, table_name: str | None = None) -> None:
        self.table = table_name or settings().table_name

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    def get(self, parent_id: str, index: int) -> str | None:
        out = self._db.get_item(
            TableName=self.table,
            Key={"id": {"S": parent_id}},
            ProjectionExpression="#u",
            ExpressionAttributeNames={"#u": attribute(index)},
            ConsistentRead=True,
        )
        value = out.get("Item", {}).get(attribute(index))
        return value["S"] if value else None

    def claim(self, parent_id: str, index: int, task_id: str, expected: str | None) -> None:
        """Point quadrant `index` at `task_id` if it still points at `expected` (None: at
        nothing); Conflict if another submit got there first."""
        values: dict[str, Any] = {":t": {"S": task_id}}
        if expected is None:
            condition = "attribute_exists(id) AND attribute_not_exists(#u)"
        else:
            condition = "attribute_exists(id) AND #u = :old"
            values[":old"] = {"S": expected}
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": parent_id}},
                UpdateExpression="SET #u = :t",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#u": attribute(index)},
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(parent_id) from exc

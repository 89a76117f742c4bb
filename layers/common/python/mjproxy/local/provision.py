"""Create the template's DynamoDB tables, SQS queues and S3 buckets in moto (server or
in-process). Table properties go to CreateTable as written in template.yaml, so the local run and
the tests use exactly the keys and indexes that AWS gets."""

from __future__ import annotations

import json
from typing import Any

import boto3

from .template import Tag, Template

PREFIX = "mjproxy"
_TABLE_SKIP = {
    "SSESpecification",
    "PointInTimeRecoverySpecification",
    "TimeToLiveSpecification",
    "Tags",
    "TableName",
}


def physical_name(logical: str) -> str:
    return f"{PREFIX}-{logical}"


def _resolved(template: Template, value: Any) -> Any:
    """`value` with every intrinsic (e.g. the indexes' `!Ref TaskIndexProjection`) resolved at
    the parameters' defaults."""
    if isinstance(value, dict):
        return {k: _resolved(template, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(template, v) for v in value]
    if isinstance(value, Tag):
        return template.resolve(value)
    return value


def provision(
    template: Template, *, visibility_timeout: int | None = None, region: str = "us-east-1"
) -> None:
    """Create every table, queue and bucket; fill template.physical / template.arns."""
    ddb = boto3.client("dynamodb", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    s3 = boto3.client("s3", region_name=region)

    for logical, res in template.of_type("AWS::DynamoDB::Table").items():
        props: dict[str, Any] = res.get("Properties", {})
        name = physical_name(logical)
        kwargs = {k: _resolved(template, v) for k, v in props.items() if k not in _TABLE_SKIP}
        ddb.create_table(TableName=name, **kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": bool(ttl.get("Enabled", True)),
                },
            )
        template.physical[logical] = name
        template.arns[logical] = f"arn:aws:dynamodb:{region}:123456789012:table/{name}"

    queues = template.of_type("AWS::SQS::Queue")
    for logical, res in queues.items():
        props = res.get("Properties", {})
        attrs = {}
        if "VisibilityTimeout" in props or visibility_timeout is not None:
            value = (
                visibility_timeout if visibility_timeout is not None else props["VisibilityTimeout"]
            )
            attrs["VisibilityTimeout"] = str(value)
        if "MessageRetentionPeriod" in props:
            attrs["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        url = sqs.create_queue(QueueName=physical_name(logical), Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        template.physical[logical] = url
        template.arns[logical] = arn
    for logical, res in queues.items():
        redrive = res.get("Properties", {}).get("RedrivePolicy")
        if redrive:
            policy = {
                "deadLetterTargetArn": template.resolve(redrive["deadLetterTargetArn"]),
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
            sqs.set_queue_attributes(
                QueueUrl=template.physical[logical],
                Attributes={"RedrivePolicy": json.dumps(policy)},
            )

    for logical in template.of_type("AWS::S3::Bucket"):
        name = physical_name(logical).lower()
        s3.create_bucket(Bucket=name)
        template.physical[logical] = name
        template.arns[logical] = f"arn:aws:s3:::{name}"


def function_environment(template: Template, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for all functions: template values resolved; a variable already set in `base`
    wins when the template takes it from a parameter (so MJ_PROVIDER=... overrides Provider) or
    declares it empty."""
    base = dict(base or {})
    env: dict[str, str] = {}
    for fn in template.functions():
        for name, value in fn.environment.items():
            is_param = (
                getattr(value, "tag", None) == "Ref" and str(value.value) in template.parameters
            )
            if value == "":
                # An empty literal (AWS_ENDPOINT_URL: "") is a slot the environment may fill;
                # left unset otherwise (moto's S3 misreads an empty AWS_ENDPOINT_URL).
                if name in base:
                    env[name] = base[name]
            elif is_param and name in base:
                env[name] = base[name]
            else:
                env[name] = template.resolve(value)
    return env

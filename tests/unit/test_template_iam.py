"""Least privilege, checked on the template as CloudFormation receives it: `samtranslator`
transforms template.yaml offline and each function's effective IAM (its role's policies inside
the permissions boundary) is asserted (issue 15 item 3; the table is in docs/security.md)."""

from __future__ import annotations

import pytest

from tests import template_iam

# The functions that touch the instance pool (store/instances.py InstancePool) and so read the
# Discord accounts secret on first use; every other function must not be able to read it.
POOL_USERS = {
    "SubmitImagineFunction",
    "SubmitChangeFunction",
    "SubmitSimpleChangeFunction",
    "SubmitDescribeFunction",
    "SubmitBlendFunction",
    "FaceSwapFunction",  # a submit (SWAP_FACE task) under its trueai route name
    "AccountListFunction",
    "AccountFetchFunction",
    "AccountEnableFunction",
    "TaskCancelFunction",  # presses Midjourney's Cancel Job button (providers/midjourney/cancel.py)
    "TaskImageSeedFunction",  # asks Midjourney for a seed (providers/midjourney/seed.py)
    "WorkerFunction",
    "WaitWorkerFunction",  # the worker's handler for the steps that wait (jobs.py lanes)
    "DeadLetterFunction",
    "SweeperFunction",
    "DiscordPollerFunction",
    "DiscordEventsFunction",
}

# Endpoints that only read tasks and images.
READ_ENDPOINTS = (
    "TaskFetchFunction",
    "TaskListFunction",
    "TaskQueueFunction",
    "TaskListByConditionFunction",
)
# The stable image link: reads tasks' images and stores a grid's quadrants on their first read
# (images.ensure_quadrant); no table, no queue.
IMAGE_LINK = "ImageRedirectFunction"


@pytest.fixture(scope="module")
def grants() -> dict[str, list[template_iam.Grant]]:
    return template_iam.effective()


def readers(grants, secret: str) -> set[str]:
    return {
        fn
        for fn, gs in grants.items()
        if any(g.action == "secretsmanager:GetSecretValue" and g.resource == secret for g in gs)
    }


def test_every_function_runs_inside_the_permissions_boundary():
    doc = template_iam.transformed()
    for name, res in doc["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            role = doc["Resources"][res["Properties"]["Role"]["Fn::GetAtt"][0]]
            assert role["Properties"].get("PermissionsBoundary") == {
                "Ref": "FunctionPermissionsBoundary"
            }, name


def test_only_the_pool_users_can_read_the_discord_accounts_secret(grants):
    pool = readers(grants, "InstancesSecretArn")
    # Functions added later that use the pool belong in POOL_USERS; the others must not read it.
    assert pool <= POOL_USERS | {fn for fn in pool if fn.startswith("Submit")}
    for fn in (*READ_ENDPOINTS, IMAGE_LINK, "NotifierFunction"):
        assert fn not in pool, fn
    assert "WorkerFunction" in pool and "DiscordPollerFunction" in pool


def test_only_the_worker_can_read_the_openai_key(grants):
    assert readers(grants, "OpenAIApiKeySecretArn") == {"WorkerFunction", "WaitWorkerFunction"}


def test_the_generated_api_secret_is_read_by_the_api_functions_only(grants):
    api = readers(grants, "GeneratedApiSecret")
    assert "TaskListFunction" in api and "SubmitImagineFunction" in api
    # Background functions and the signature-protected image link never check it.
    assert not api & {
        "WorkerFunction",
        "NotifierFunction",
        "SweeperFunction",
        "DeadLetterFunction",
        "ImageRedirectFunction",
    }


@pytest.mark.parametrize(
    "forbidden",
    [
        "dynamodb:Scan",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:PutLifecycleConfiguration",
        "s3:PutObjectAcl",
        "ssm:DescribeParameters",
    ],
)
def test_no_function_can_scan_delete_or_list(grants, forbidden):
    holders = {
        fn
        for fn, gs in grants.items()
        if any(template_iam._matches(g.action, forbidden) for g in gs)
    }
    assert not holders, (forbidden, holders)


def test_queue_receive_is_never_on_star_and_only_where_a_queue_is_consumed(grants):
    consumed = template_iam.consumed_queues()
    stack_queues = set().union(*consumed.values())
    for fn, gs in grants.items():
        receive = {g.resource for g in gs if g.action in ("sqs:ReceiveMessage", "sqs:*")}
        if fn not in consumed:
            assert not receive, fn
            continue
        assert "*" not in receive, fn
        assert consumed[fn] <= receive <= stack_queues, fn


def test_writes_to_the_bucket_stay_under_tasks(grants):
    for fn, gs in grants.items():
        for g in gs:
            if g.action == "s3:PutObject":
                assert g.resource == "ImagesBucket/tasks/*", fn


def test_the_read_endpoints_cannot_write(grants):
    for fn in READ_ENDPOINTS:
        writes = {
            g.action
            for g in grants[fn]
            if g.action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "s3:PutObject")
            or g.action.startswith("sqs:Send")
        }
        assert not writes, (fn, writes)


def test_the_image_link_writes_only_quadrants_under_tasks(grants):
    writes = {
        (g.action, g.resource)
        for g in grants[IMAGE_LINK]
        if not g.action.endswith(("GetObject", "GetSecretValue"))
        and g.action.split(":")[0] not in ("logs", "xray")
    }
    assert writes == {("s3:PutObject", "ImagesBucket/tasks/*")}


def test_the_boundary_cuts_back_a_too_broad_policy():
    """The boundary logic itself: a Crud-style grant on '*' loses Scan/DeleteItem and a
    receive on '*' shrinks to the stack's queues."""
    doc = template_iam.transformed()
    role = {"Properties": {"PermissionsBoundary": {"Ref": "FunctionPermissionsBoundary"}}}
    out = template_iam.bounded(
        doc,
        role,
        [
            template_iam.Grant("dynamodb:Scan", "TasksTable"),
            template_iam.Grant("dynamodb:GetItem", "TasksTable"),
            template_iam.Grant("sqs:ReceiveMessage", "*"),
            template_iam.Grant("iam:PassRole", "*"),
        ],
    )
    assert template_iam.Grant("dynamodb:GetItem", "TasksTable") in out
    assert not [g for g in out if g.action in ("dynamodb:Scan", "iam:PassRole")]
    assert {g.resource for g in out if g.action == "sqs:ReceiveMessage"} == {
        "JobsQueue",
        "WaitJobsQueue",
        "JobsDeadLetterQueue",
        "NotifyQueue",
        "DiscordPollerQueue",
        "DiscordEventsQueue",
    }


def test_the_image_link_key_is_read_only_where_links_are_made_or_checked(grants):
    keyed = readers(grants, "ImageLinkSecret")
    assert (
        set(READ_ENDPOINTS) | {IMAGE_LINK, "NotifierFunction", "SubmitUploadDiscordImagesFunction"}
        <= keyed
    )
    assert not keyed & {"WorkerFunction", "SweeperFunction", "DeadLetterFunction"}

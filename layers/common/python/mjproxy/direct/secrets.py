"""Secrets read without boto3: Secrets Manager's GetSecretValue and SSM's GetParameter as the
AWS JSON 1.1 requests botocore makes for them, signed by mjproxy.sigv4.

Why (issue 17): on AWS the functions read their keys on a cold start (the stable image links'
key in every function that writes or checks a link, the API secret where one is set, the
Discord account list), and importing boto3 plus creating a client for that one read cost a
fetch more than the rest of its cold start (bench/results/1_cold_start.md). A missing secret
version (AWSPREVIOUS before the first rotation) or parameter is raised as botocore raises it;
anything else unusual returns None and the caller reads through botocore.
MJ_SECRETS_DIRECT=off turns it off.
"""

from __future__ import annotations

from .. import direct

SWITCH = "MJ_SECRETS_DIRECT"
_MISSING = frozenset({"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"})


def secret_string(secret_id: str, region: str, stage: str = "") -> str | None:
    """The secret's SecretString (of version stage `stage`, else AWSCURRENT); None: botocore's
    to read (also for a binary-only secret, which botocore's caller then refuses as before)."""
    params = {"SecretId": secret_id, **({"VersionStage": stage} if stage else {})}
    answer = direct.call_json("secretsmanager", "secretsmanager.GetSecretValue", params, region,
                              SWITCH, _MISSING)  # fmt: skip
    value = (answer or {}).get("SecretString")
    return value if isinstance(value, str) else None


def parameter(name: str, region: str) -> str | None:
    """The decrypted value of the SSM parameter `name`; None: botocore's to read."""
    answer = direct.call_json("ssm", "AmazonSSM.GetParameter",
                              {"Name": name, "WithDecryption": True}, region, SWITCH, _MISSING)  # fmt: skip
    value = ((answer or {}).get("Parameter") or {}).get("Value")
    return value if isinstance(value, str) else None

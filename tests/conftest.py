import os

import pytest

# No real AWS, ever: dummy credentials and a region for every tier.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
# The template's default is stable links (for AWS); tests see presigned URLs unless they opt
# into stable links themselves (tests/integration/test_image_links.py).
os.environ.setdefault("MJ_IMAGE_URL_MODE", "presigned")
for _var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MJ_API_SECRET", "MJ_INSTANCES", "MJ_PROVIDER"):
    os.environ.pop(_var, None)


@pytest.fixture(autouse=True)
def _fresh_caches():
    from tests.harness import reset_caches

    reset_caches()
    yield
    reset_caches()

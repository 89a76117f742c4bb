import pytest
from moto import mock_aws

from tests.harness import Harness


@pytest.fixture
def system(monkeypatch):
    """The whole system in-process on moto: real handlers, real worker, zero delays."""
    monkeypatch.setenv("MJ_LOCAL_STEP_SECONDS", "0")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    import mjproxy.worker as worker

    monkeypatch.setattr(worker, "EARLY_RETRY_DELAY", 0)
    monkeypatch.setattr(worker, "RETRY_BASE_DELAY", 0)
    with mock_aws():
        yield Harness.create(monkeypatch)

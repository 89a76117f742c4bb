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


@pytest.fixture(scope="module")
def moto_server():
    """moto's HTTP server on loopback, for code that reaches AWS over the network as a function
    in a Lambda runtime does (mjproxy.direct). Bound here, in this thread, so a failure to bind
    raises at once (ThreadedMotoServer.start waits without a timeout for a thread that may have
    died). Tests using it need `pytest.mark.allow_hosts(["127.0.0.1"])`."""
    import threading

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def lambda_runtime(monkeypatch, moto_server):
    """This process as a function in a Lambda runtime (mjproxy.direct on) reaching AWS over the
    network: moto's HTTP server, the runtime's environment credentials. Yields the server URL."""
    from mjproxy import direct
    from tests.harness import reset_caches

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "TaskFetchFunction")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "direct")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    reset_caches()
    yield moto_server
    direct._drop()
    reset_caches()


@pytest.fixture
def botocore_clients(monkeypatch):
    """The services botocore's clients were asked for (mjproxy.aws.botocore_client), once per
    call that needed one."""
    from mjproxy import aws

    asked: list[str] = []
    real = aws.botocore_client

    def recorded(service):
        asked.append(service)
        return real(service)

    recorded.cache_clear = real.cache_clear  # for mjproxy.aws.reset
    monkeypatch.setattr(aws, "botocore_client", recorded)
    return asked

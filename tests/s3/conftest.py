"""Fixtures of the tests of media on a bucket: a real S3 server (moto's), a fresh bucket per
test, and the default storage switched to it.

CI starts one server for the whole run and says where in TEST_S3_ENDPOINT_URL (.ci/run);
without it each pytest process starts `moto_server` itself on a free 127.0.0.1 port, so
`make test` runs these too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing-secret", "us-east-1"
# The test settings' staticfiles storage, kept while the default one changes.
STATICFILES = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _moto_server() -> str:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        pytest.fail("moto_server is not installed: `pip install 'moto[server]'` (make setup does)")
    return found


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of an S3 server: CI's, or a moto_server started for this process."""
    if given := os.environ.get("TEST_S3_ENDPOINT_URL", "").strip():
        yield given.rstrip("/")
        return
    command = _moto_server()
    with tempfile.TemporaryFile() as log:
        server = _start(command, log)
        try:
            yield f"http://127.0.0.1:{server.args[-1]}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _start(command: str, log) -> subprocess.Popen:
    """moto_server on a free port, answering; the port is its last argument."""
    for _attempt in range(3):  # the free port may be taken between the probe and the bind
        port = _free_port()
        server = subprocess.Popen(
            [command, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None and not _answers(port):
            time.sleep(0.1)
        if server.poll() is None and _answers(port):
            return server
        server.kill()
        server.wait()
    log.seek(0)
    pytest.fail(f"moto_server did not start: {log.read().decode(errors='replace')[-2000:]}")


def storage_options(endpoint: str, bucket: str) -> dict[str, object]:
    """The options florasite.settings gives S3Storage, pointed at the test server."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": "",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 300,
        "file_overwrite": False,
        "max_memory_size": 10 * 1024 * 1024,
        "client_config": Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    }


@dataclass
class Bucket:
    """The test's bucket, as the S3 server has it (read past the dashboard)."""

    name: str
    endpoint: str
    client: object

    def object_keys(self) -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)


@pytest.fixture
def s3_bucket(s3_endpoint: str, settings) -> Iterator[Bucket]:
    """A bucket of its own for the test, made the default storage (signed-URL delivery, as
    in production; a test sets FLORASITE_MEDIA_DELIVERY=proxy for the other way)."""
    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
    ).client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    name = f"florasite-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    settings.STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": storage_options(s3_endpoint, name),
        },
        "staticfiles": STATICFILES,
    }
    settings.FLORASITE_MEDIA_DELIVERY = "redirect"
    settings.FLORASITE_MEDIA_URL_EXPIRY = 300
    bucket = Bucket(name=name, endpoint=s3_endpoint, client=client)
    yield bucket
    for key in bucket.object_keys():
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)

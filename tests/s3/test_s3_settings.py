"""FLORASITE_MEDIA_STORAGE=s3 and its variables, read by florasite.settings in a fresh
process (as the web server and the worker read them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
_REPORT = """
import json
from django.conf import settings
options = settings.STORAGES["default"].get("OPTIONS", {})
config = options.get("client_config")
print(json.dumps({
    "backend": settings.STORAGES["default"]["BACKEND"],
    "options": {k: v for k, v in options.items() if k != "client_config"},
    "style": config.s3["addressing_style"] if config else None,
    "signature": config.signature_version if config else None,
    "csp": {d: settings.CONTENT_SECURITY_POLICY["DIRECTIVES"][d]
            for d in ("img-src", "media-src", "frame-src")},
}))
"""


def _settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "FLORASITE_", "DJANGO_", "TEST_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "florasite.settings", "DEBUG": "true", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + _REPORT],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _read(env: dict[str, str]) -> dict:
    result = _settings(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


S3 = {
    "FLORASITE_MEDIA_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "florasite-media",
    "AWS_S3_ENDPOINT_URL": "http://minio.internal:9000",
    "AWS_ACCESS_KEY_ID": "AKIATESTKEYID123",
}


def test_the_default_is_the_folder_and_the_csp_names_no_bucket():
    read = _read({})
    assert read["backend"] == "django.core.files.storage.FileSystemStorage"
    assert read["csp"]["frame-src"] == ["'self'"]
    assert "minio" not in json.dumps(read["csp"])


def test_s3_is_a_private_bucket_with_signed_urls_and_its_origin_in_the_csp(tmp_path):
    secret = tmp_path / "s3-secret"
    secret.write_text("not-in-the-environment\n")
    read = _read({**S3, "AWS_SECRET_ACCESS_KEY_FILE": str(secret), "AWS_S3_REGION_NAME": ""})
    assert read["backend"] == "storages.backends.s3.S3Storage"
    options = read["options"]
    assert options["bucket_name"] == "florasite-media"
    assert options["endpoint_url"] == "http://minio.internal:9000"
    assert options["region_name"] == "us-east-1"
    assert (options["access_key"], options["secret_key"]) == (
        "AKIATESTKEYID123",
        "not-in-the-environment",
    )
    assert options["default_acl"] is None and options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    assert options["querystring_expire"] == 300
    assert (read["style"], read["signature"]) == ("auto", "s3v4")
    for directive in ("img-src", "media-src", "frame-src"):
        # boto3 addresses a custom endpoint by path: the endpoint's own origin.
        assert read["csp"][directive][-1] == "http://minio.internal:9000"


def test_a_virtual_hosted_bucket_on_aws_is_named_in_the_frame_source():
    env = {**S3, "AWS_SECRET_ACCESS_KEY": "x", "AWS_S3_ENDPOINT_URL": ""}
    env.update({"AWS_S3_ADDRESSING_STYLE": "virtual", "AWS_S3_REGION_NAME": "eu-west-1"})
    read = _read(env)
    assert read["options"]["endpoint_url"] is None
    assert read["csp"]["frame-src"] == [
        "'self'",
        "https://florasite-media.s3.eu-west-1.amazonaws.com",
    ]


def test_the_proxy_delivery_adds_no_origin():
    read = _read({**S3, "AWS_SECRET_ACCESS_KEY": "x", "FLORASITE_MEDIA_DELIVERY": "proxy"})
    assert read["csp"]["frame-src"] == ["'self'"]


def test_no_credentials_leaves_them_to_boto3():
    env = {k: v for k, v in S3.items() if k != "AWS_ACCESS_KEY_ID"}
    options = _read(env)["options"]
    assert options["access_key"] is None and options["secret_key"] is None


def _refused(env: dict[str, str]) -> str:
    result = _settings(env)
    assert result.returncode != 0
    return result.stderr


def test_bad_values_are_refused_naming_the_variable():
    assert "AWS_STORAGE_BUCKET_NAME" in _refused({"FLORASITE_MEDIA_STORAGE": "s3"})
    assert "FLORASITE_MEDIA_STORAGE must be" in _refused({"FLORASITE_MEDIA_STORAGE": "gcs"})
    assert "FLORASITE_MEDIA_DELIVERY must be" in _refused({"FLORASITE_MEDIA_DELIVERY": "cdn"})
    assert "at most 604800" in _refused({"FLORASITE_MEDIA_URL_EXPIRY": "700000"})
    assert "AWS_S3_ADDRESSING_STYLE" in _refused({**S3, "AWS_S3_ADDRESSING_STYLE": "dns"})
    assert "AWS_S3_ENDPOINT_URL" in _refused({**S3, "AWS_S3_ENDPOINT_URL": "minio:9000"})
    # A key id without its secret: the message names both, and echoes neither.
    message = _refused(S3)
    assert "AWS_SECRET_ACCESS_KEY" in message and "AKIATESTKEYID123" not in message

"""The upload limit is configured once (server.maxUploadSize) and enforced twice: by the
Streamlit server, and by the studio with the same figure; the server's protections are on."""

from __future__ import annotations

import io
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config

from detector.common.settings import ROOT
from tests.unit.pages.conftest import app_test

CONFIG = ROOT / ".streamlit" / "config.toml"


def test_the_server_limits_uploads_and_keeps_its_protections() -> None:
    conf = tomllib.loads(CONFIG.read_text())
    assert 1 <= conf["server"]["maxUploadSize"] <= 200
    assert conf["server"]["enableXsrfProtection"] is True
    assert conf["server"]["enableCORS"] is True
    # Exception messages may carry data or hosts: the browser gets the type and stack only.
    assert conf["client"]["showErrorDetails"] in ("stacktrace", "type", "none")


@pytest.fixture
def one_mb_limit() -> Iterator[None]:
    before = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    yield
    config.set_option("server.maxUploadSize", before)


def test_the_studio_refuses_an_upload_over_the_configured_limit(
    data_dir: Path, one_mb_limit: None
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # stored, so the zip itself is over 1 MB
        zf.writestr("payments.csv", b"x" * (1 << 20))
    at = app_test("pages/4_dataset_studio.py")
    at.run()
    assert "(max. 1 Mo)" in at.file_uploader(key="st_upload").label  # the limit is shown
    at.file_uploader(key="st_upload").upload("big.zip", buf.getvalue(), "application/zip")
    at.text_input(key="st_zip_name").input("big")
    at.run()
    at.button(key="st_import_zip_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error  # "refused, nothing was written" ...
    # ... and why, in the page's language (French by default: the studio's errors are keys).
    assert any("au-delà de la limite de 1 Mo" in c.value for c in at.code)
    assert list((data_dir / "datasets").iterdir()) == []

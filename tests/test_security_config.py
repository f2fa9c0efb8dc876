"""The Streamlit server configuration: every key is real, and the security settings are what docs/security.md says."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from serving.uploads import MAX_UPLOAD_BYTES

CONFIG_FILE = Path(__file__).resolve().parents[1] / "dashboard" / ".streamlit" / "config.toml"


@pytest.fixture(scope="module")
def settings() -> dict[str, object]:
    """config.toml flattened to Streamlit's "section.option" keys."""
    document = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    return {f"{section}.{key}": value for section, options in document.items() for key, value in options.items()}


def test_every_key_is_a_streamlit_option_of_the_right_type(settings):
    from streamlit import config

    options = config.get_config_options()
    for key, value in settings.items():
        assert key in options, f"{key} is not a Streamlit {config.__name__} option (typo or removed?)"
        expected = options[key].type
        if expected in (bool, int, str):
            assert type(value) is expected, f"{key} should be {expected.__name__}, got {value!r}"


def test_error_details_are_hidden_from_users(settings):
    from streamlit.config import ShowErrorDetailsConfigOptions

    assert settings["client.showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE.value


def test_xsrf_and_cors_protection_stay_on(settings):
    assert settings["server.enableXsrfProtection"] is True
    assert settings["server.enableCORS"] is True


def test_upload_limits_match_the_server_side_checks(settings):
    from serving.model_upload import DEFAULT_MODEL_UPLOAD_MB

    # Streamlit counts maxUploadSize in units of 1024 * 1024 bytes. The server cap is the
    # model upload's; the photo uploader on Classify asks for the smaller photo limit itself.
    assert settings["server.maxUploadSize"] == DEFAULT_MODEL_UPLOAD_MB
    classify = (CONFIG_FILE.parents[1] / "views" / "classify.py").read_text(encoding="utf-8")
    assert "max_upload_size=MAX_UPLOAD_BYTES // MEGABYTE" in classify
    assert MAX_UPLOAD_BYTES < DEFAULT_MODEL_UPLOAD_MB * 1024 * 1024


def test_server_listens_on_this_machine_only_by_default(settings):
    assert settings["server.address"] in ("127.0.0.1", "localhost")
    assert settings["server.enableStaticServing"] is False

"""Settings: defaults, secrets, and one clear line per wrong setting -- never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from floodwatch.core.settings import Settings, SettingsError, load_settings
from floodwatch.core.settings_alerts import AlertsSettings
from floodwatch.core.settings_api import ApiSettings
from floodwatch.core.settings_backends import InfluxSettings, MqttSettings
from floodwatch.core.settings_forecast import ForecastSettings
from floodwatch.core.settings_ingest import IngestSettings
from floodwatch.core.settings_notify import NotifySettings
from floodwatch.core.settings_public import DashboardSettings, OpenDataSettings
from tests.support import REPO_ROOT


def test_defaults_point_at_the_local_services() -> None:
    settings = load_settings({})
    assert str(settings.mqtt_url) == "mqtt://127.0.0.1:11883"
    assert str(settings.influx_url) == "http://127.0.0.1:18086/"
    assert settings.influx_db == "floodwatch"
    assert settings.influx_token is None


def test_the_process_environment_is_read_only_through_load_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOODWATCH_INFLUX_DB", "from_env")
    assert Settings().influx_db == "floodwatch"
    assert load_settings().influx_db == "from_env"


def test_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "floodwatch_influx_token").write_text("s3cret")
    settings = load_settings({"FLOODWATCH_SECRETS_DIR": str(tmp_path)})
    assert settings.influx_token is not None
    assert settings.influx_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MQTT_URL", "http://broker:1883", "URL scheme should be 'mqtt' or 'mqtts'"),
        ("MQTT_URL", "not a url", "Input should be a valid URL"),
        ("MQTT_URL", "mqtt://broker:1883/floodwatch", "must not have a path"),
        ("NOTIFY_NETWORK_URL", "mqtts://net:8883?x=1", "must not have a path, query"),
        ("INFLUX_URL", "influx:8086", "URL scheme should be 'http' or 'https'"),
        ("INFLUX_DB", "bad name;drop", "String should match pattern"),
        ("INGEST_BATCH_SIZE", "0", "greater than or equal to 1"),
        ("INGEST_BATCH_SIZE", "many", "valid integer"),
        ("LOG_LEVEL", "loud", "Input should be 'debug', 'info', 'warning' or 'error'"),
        ("INGEST_SHARE_GROUP", "a/b", "String should match pattern"),
        ("SECRETS_DIR", "/nonexistent", "is not a directory"),
        # Each field validator, wherever its section's module declares it, still runs.
        ("API_KEYS", "root:supersecretvalue-123456", "entry 1 is not 'viewer|officer|admin"),
        ("MQTT_CA_FILE", "/nonexistent/ca.pem", "No such file or directory"),
        ("NOTIFY_NETWORK_CA_FILE", "/nonexistent/ca.pem", "No such file or directory"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({f"FLOODWATCH_{name}": value})
    assert str(caught.value).startswith(f"FLOODWATCH_{name}: ")
    assert message in str(caught.value)


def test_the_sections_keep_the_reference_order() -> None:
    # The generated settings reference lists Settings.model_fields in order; the mixins'
    # base order decides it, so a reordered base list would reshuffle the README.
    sections = (MqttSettings, InfluxSettings, IngestSettings, AlertsSettings,
                ForecastSettings, ApiSettings, OpenDataSettings, DashboardSettings,
                NotifySettings)
    own = ["state_dir", "log_level", "log_format", "metrics_port", "metrics_host"]
    expected = [name for section in sections for name in section.model_fields] + own
    assert list(Settings.model_fields) == expected


def test_a_bad_secret_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"FLOODWATCH_INFLUX_TIMEOUT_S": "hunter2"})
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FLOODWATCH_INFLUX_URL": "nope"},
         "floodwatch: FLOODWATCH_INFLUX_URL: Input should be a valid URL, "
         "relative URL without a base"),
        ({"FLOODWATCH_STATIONS": "/nonexistent/stations.yaml"},
         "floodwatch: FLOODWATCH_STATIONS: /nonexistent/stations.yaml: cannot read: "
         "No such file or directory"),
    ],
)
def test_the_command_stops_with_one_line(env: dict[str, str], expected: str) -> None:
    result = subprocess.run([sys.executable, "-m", "floodwatch", "ingest"],
                            env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=30, cwd=REPO_ROOT, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == expected
    assert "Traceback" not in result.stderr

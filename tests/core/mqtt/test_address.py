"""core.mqtt.address: the one broker-URL parser, for the bus, the disaster network and
the simulators -- what a URL means, which credentials win, and one clear error for a
URL that cannot be used (never echoing its password)."""

from __future__ import annotations

from pathlib import Path

import certifi
import pytest

from floodwatch.core.mqtt import BrokerAddress, BrokerAddressError, MqttError, MqttSession
from floodwatch.core.settings import Settings, SettingsError, load_settings
from floodwatch.notify.channels.network import network_address


@pytest.mark.parametrize(
    ("url", "host", "port", "tls"),
    [
        ("mqtt://broker", "broker", 1883, False),
        ("mqtts://broker", "broker", 8883, True),
        ("mqtt://broker:11883", "broker", 11883, False),
        ("mqtts://broker.example.jp:9883/", "broker.example.jp", 9883, True),
        ("MQTTS://Broker", "broker", 8883, True),
        ("mqtt://[::1]:1884", "::1", 1884, False),
        ("mqtt://10.0.0.7:65535", "10.0.0.7", 65535, False),
    ],
)
def test_good_urls(url: str, host: str, port: int, tls: bool) -> None:
    address = BrokerAddress.from_url(url)
    assert (address.host, address.port, address.tls) == (host, port, tls)
    assert (address.username, address.password, address.ca_file) == (None, None, None)


def test_credentials_in_the_url_are_percent_decoded() -> None:
    address = BrokerAddress.from_url("mqtts://ingest%20one:p%40ss%3Aw%2Frd@broker:8883")
    assert (address.username, address.password) == ("ingest one", "p@ss:w/rd")
    user_only = BrokerAddress.from_url("mqtt://device-7@broker")
    assert (user_only.username, user_only.password) == ("device-7", None)


def test_credentials_given_separately_win_over_the_urls() -> None:
    address = BrokerAddress.from_url("mqtt://u:p@broker", username="other", password="secret")
    assert (address.username, address.password) == ("other", "secret")
    # Only the password given: the URL's user name stays.
    mixed = BrokerAddress.from_url("mqtt://u:p@broker", password="")
    assert (mixed.username, mixed.password) == ("u", "")


def a_ca_file(path: Path) -> Path:
    """A real CA bundle at ``path`` (the settings read it: it must hold certificates)."""
    path.write_bytes(Path(certifi.where()).read_bytes())
    return path


def test_from_settings_reads_the_bus_broker_settings(tmp_path: Path) -> None:
    a_ca_file(tmp_path / "ca.pem")
    in_url = load_settings({"FLOODWATCH_MQTT_URL": "mqtts://ingest:p%40ss@broker:8883"})
    assert BrokerAddress.from_settings(in_url) == BrokerAddress(
        "broker", 8883, True, "ingest", "p@ss", None)
    separate = load_settings({"FLOODWATCH_MQTT_URL": "mqtts://u:p@broker",
                              "FLOODWATCH_MQTT_USERNAME": "other",
                              "FLOODWATCH_MQTT_PASSWORD": "secret",
                              "FLOODWATCH_MQTT_CA_FILE": str(tmp_path / "ca.pem")})
    assert BrokerAddress.from_settings(separate) == BrokerAddress(
        "broker", 8883, True, "other", "secret", tmp_path / "ca.pem")


def test_the_disaster_network_url_goes_through_the_same_parser(tmp_path: Path) -> None:
    a_ca_file(tmp_path / "net-ca.pem")
    network = {"mqtt_url": "mqtt://bus:1883",
               "notify_network_url": "mqtts://net%40pref:pw%23@net.example:9883",
               "notify_network_ca_file": tmp_path / "net-ca.pem"}
    assert network_address(Settings.model_validate(network)) == BrokerAddress(
        "net.example", 9883, True, "net@pref", "pw#", tmp_path / "net-ca.pem")
    separate = Settings.model_validate({**network, "notify_network_username": "console",
                                        "notify_network_password": "x"})
    assert (network_address(separate).username, network_address(separate).password) \
        == ("console", "x")
    # Without a URL of its own the network is the bus broker, with the bus credentials.
    bus_only = Settings.model_validate({"mqtt_url": "mqtt://bus:1883",
                                        "mqtt_username": "notify"})
    assert network_address(bus_only) == BrokerAddress("bus", 1883, False, "notify")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker:1883", "must start with mqtt:// or mqtts://"),
        ("ws://broker", "must start with mqtt:// or mqtts://"),
        ("broker:1883", "must start with mqtt:// or mqtts://"),
        ("", "must start with mqtt:// or mqtts://"),
        ("mqtt://", "names no host"),
        ("mqtt://:1883", "names no host"),
        ("mqtt://broker:port", "the port must be a number from 1 to 65535"),
        ("mqtt://broker:65536", "the port must be a number from 1 to 65535"),
        ("mqtt://broker:0", "the port must be a number from 1 to 65535"),
        ("mqtt://broker/floodwatch", "must not have a path, query or fragment"),
        ("mqtt://broker:1883?clean=1", "must not have a path, query or fragment"),
        ("mqtt://broker#x", "must not have a path, query or fragment"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(BrokerAddressError, match=message) as caught:
        BrokerAddress.from_url(url)
    # One exception type for the command's edge, and one pydantic turns into a line.
    assert isinstance(caught.value, MqttError)
    assert isinstance(caught.value, ValueError)


def test_the_password_is_never_shown() -> None:
    with pytest.raises(BrokerAddressError) as caught:
        BrokerAddress.from_url("mqtt://ingest:hunter2@broker/path")
    assert "hunter2" not in str(caught.value)
    assert "ingest:***@broker" in str(caught.value)
    address = BrokerAddress.from_url("mqtts://ingest:hunter2@broker")
    assert "hunter2" not in str(address)
    assert "hunter2" not in repr(address)
    assert str(address) == "mqtts://ingest@broker:8883"
    assert str(BrokerAddress.from_url("mqtt://[::1]")) == "mqtt://[::1]:1883"


def test_a_ca_file_that_cannot_be_read_is_a_configuration_error(tmp_path: Path) -> None:
    missing = BrokerAddress.from_url("mqtts://broker", ca_file=tmp_path / "missing.pem")
    with pytest.raises(BrokerAddressError, match=r"missing\.pem"):
        missing.ssl_context()
    # A session says so when it is made, not by retrying the connection for ever.
    with pytest.raises(BrokerAddressError, match="No such file"):
        MqttSession(missing, "ca-check", [], session_expiry_s=0, receive_maximum=10)
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    garbage = BrokerAddress.from_url("mqtts://broker", ca_file=tmp_path / "garbage.pem")
    with pytest.raises(BrokerAddressError, match=r"garbage\.pem"):
        garbage.ssl_context()
    assert BrokerAddress.from_url("mqtt://broker", ca_file=tmp_path / "x").ssl_context() \
        is None


@pytest.mark.parametrize("variable", ["FLOODWATCH_MQTT_CA_FILE",
                                      "FLOODWATCH_NOTIFY_NETWORK_CA_FILE"])
def test_a_ca_file_setting_that_cannot_be_used_is_named_at_start(
        tmp_path: Path, variable: str) -> None:
    (tmp_path / "garbage.pem").write_text("not a certificate")
    for path in (tmp_path / "missing.pem", tmp_path / "garbage.pem"):
        with pytest.raises(SettingsError) as refused:
            load_settings({variable: str(path)})
        assert str(refused.value).startswith(f"{variable}: ")
        assert str(path) in str(refused.value)
    assert load_settings({variable: str(a_ca_file(tmp_path / "ca.pem"))}) is not None

"""``floodwatch simulate`` without a broker: dry runs, and one-line errors for bad input."""

from __future__ import annotations

import pytest

from floodwatch.core.readings import JST
from floodwatch.core.registry import StationRegistry
from floodwatch.services.process import free_port
from floodwatch.simulators.faults import parse_fault_option
from floodwatch.simulators.runner import build_simulation
from tests.conftest import SAMPLE_REGISTRY
from tests.simulators.cli import simulate
from tests.simulators.conftest import TYPHOON_START

START = "2026-10-12T00:00:00+09:00"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOODWATCH_STATIONS", str(SAMPLE_REGISTRY))
    monkeypatch.setenv("FLOODWATCH_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    monkeypatch.setenv("FLOODWATCH_LOG_LEVEL", "warning")


def test_dry_run_prints_exactly_the_simulated_messages(
    capsys: pytest.CaptureFixture[str], sample_registry: StationRegistry
) -> None:
    simulate("--scenario", "winter-ice", "--duration", "2h", "--start", START, "--seed", "4",
             "--fault", "spike=0.1", "--dry-run")
    lines = capsys.readouterr().out.splitlines()
    expected = build_simulation(sample_registry, "winter-ice", duration_s=7200, seed=4,
                                start=TYPHOON_START,
                                faults=[parse_fault_option("spike=0.1")]).events()
    assert lines == [f"{e.sim_time.astimezone(JST).isoformat()} {e.topic} "
                     f"{e.payload.decode()}" for e in expected]
    assert lines[0].startswith(f"{START} sensors/river/sukagawa {{\"ts\": \"{START}\"")


@pytest.mark.parametrize(("arguments", "message"), [
    (["--speed", "fast"], "--speed: 'fast' is not a number"),
    (["--speed", "-1"], "--speed: '-1' is out of range"),
    (["--seed", "1.5"], "--seed: '1.5' is not an integer"),
    (["--duration", "soon"], "--duration: 'soon' is not a duration"),
    (["--start", "2026-10-12T00:00"], "--start: '2026-10-12T00:00' has no offset"),
    (["--scenario", "hurricane"], "unknown scenario 'hurricane'"),
    (["--fault", "spike"], "--fault 'spike': give either 'rate'"),
    (["--load", "--seed", "3"], "--seed does not apply to --load"),
    (["--load", "--devices", "15"], "--devices: the registry has 14 stations, not 15"),
    (["--devices", "3"], "--devices does not apply to a scenario"),
    (["--replay", "x.csv", "--load"], "--replay and --load cannot be combined"),
    (["--replay", "/nonexistent/x.csv"], "/nonexistent/x.csv: cannot read"),
])
def test_bad_input_is_one_line_and_exit_status_2(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        simulate(*arguments)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"floodwatch: {message}")
    assert error.count("\n") == 1


def test_bad_settings_name_the_variable(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOODWATCH_MQTT_URL", "http://127.0.0.1:1883")
    with pytest.raises(SystemExit) as exit_:
        simulate("--dry-run")
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("floodwatch: FLOODWATCH_MQTT_URL: ")


def test_an_unreachable_broker_is_one_line_and_exit_status_1(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        simulate("--duration", "10m", "--speed", "0")
    assert exit_.value.code == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("floodwatch: FLOODWATCH_MQTT_URL: cannot connect to mqtt://")

"""The `wes` command as someone who runs nodes meets it (issue 15): every option explains itself,
a configuration key that is not a setting stops the node with a line naming it, the shipped example
configuration and service unit are usable, `wes serve` says loudly when its devices are simulated,
and `wes bench` without psutil says how to get it."""
import configparser
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
WES = Path(sys.executable).with_name("wes")


def all_commands(group, prefix="wes"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{prefix} {name}")


def test_every_option_of_every_command_has_help():
    missing = [f"{path} {opt.opts[0]}" for path, command in [("wes", main), *all_commands(main)]
               for opt in command.params if isinstance(opt, click.Option) and not opt.help]
    assert missing == []


def test_demo_and_serve_take_the_routers_api_port_as_an_option():
    for name in ("demo", "serve"):
        assert "--api-port" in [o for p in main.commands[name].params for o in p.opts]


@pytest.mark.parametrize("text,named", [
    ('prot = 8090\n', "'prot'"),
    ('port = 8090\n[devices]\n[logging]\nlevel = "x"\n', "'logging'"),
    ('devices = 3\n', "WES_DEVICES"),
    ('backup_every = "every hour"\n', "'every hour'"),
    ('port = "eighty"\n', "WES_PORT"),
])
def test_a_configuration_that_cannot_be_used_is_an_error_naming_the_key(tmp_path, text, named):
    path = tmp_path / "node.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        Settings.load(env={}, config_file=str(path))
    assert named in str(err.value)


def test_serve_with_a_mistyped_key_stops_with_one_line_before_any_work(tmp_path):
    path = tmp_path / "node.toml"
    path.write_text(f'db = "{tmp_path / "n.db"}"\nnode_idd = "N7"\n')
    out = CliRunner().invoke(main, ["serve", "--config", str(path)], env={})
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [out.output.strip()]
    assert "unknown setting 'node_idd'" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "n.db").exists()


def test_the_example_configuration_is_valid_and_names_real_devices(tmp_path):
    settings = Settings.load(env={}, config_file=str(ROOT / "app/deploy/node.example.toml"))
    assert settings.devices == "config" and settings.device_config["printers"]["lp-1"]["type"] == "network"
    assert settings.backup_every == "1h" and settings.log_format == "json"


def test_the_service_unit_runs_migrations_then_serves_the_config_and_stops_with_sigterm():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "app/deploy/wes.service")
    service = unit["Service"]
    assert service["ExecStartPre"].endswith("wes init --config /etc/node-wes/node.toml")
    assert service["ExecStart"].endswith("wes serve --config /etc/node-wes/node.toml")
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"


def test_serve_without_devices_configured_says_first_that_they_are_simulated_and_never_prints_its_token(tmp_path):
    env = {**os.environ, "WES_DB": str(tmp_path / "n.db"), "WES_PORT": "0", "WES_API_FRONT": "false",
           "WES_ROUTER_TOKEN": "sim-token-1", "WES_LOG_LEVEL": "WARNING"}
    env.pop("WES_DEVICES", None)
    env.pop("WES_CONFIG", None)
    proc = subprocess.Popen([str(WES), "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        while not lines or "Stop with" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert "DEVICES ARE SIMULATED" in lines[0] and str(tmp_path / "prints") in lines[0]
    assert any("curl -H 'Authorization: Bearer $WES_ROUTER_TOKEN'" in line for line in lines)
    assert "sim-token-1" not in "".join(lines)  # the journal keeps what a service prints


def test_bench_without_psutil_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # as on an install without the bench extra
    out = CliRunner().invoke(main, ["bench", "--quick"], env={})
    assert out.exit_code == 1 and "node-wes[bench]" in out.output and "Traceback" not in out.output

"""`edge debug`: the mitmweb / mitmproxy command line it builds and execs."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import config, debug

DEMO = Path(config.__file__).parent / "demo.toml"


def _run(*argv: str) -> list[str]:
    calls: list[list[str]] = []

    def execute(path: str, args: list[str], env: dict[str, str]) -> None:
        assert path == args[0]
        assert str(debug.ROOT) in env["PYTHONPATH"].split(":")
        calls.append(args)

    assert debug.main(["--config", str(DEMO), *argv], execute=execute) == 0
    assert len(calls) == 1
    return calls[0]


def _sets(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]


def test_mitmweb_with_our_addons_in_reverse_mode_and_safe_options() -> None:
    argv = _run("--web-port", "9999", "--web-password", "pw")
    assert "mitmweb" in " ".join(argv[:3])
    assert argv[argv.index("--mode") + 1] == "reverse:http://127.0.0.1:8090@127.0.0.1:8080"
    assert argv[argv.index("-s") + 1] == str(debug.ENTRY) and debug.ENTRY.is_file()
    sets = _sets(argv)
    for expected in ("connection_strategy=lazy", "keep_host_header=true", "http2=false",
                     "block_global=false", f"edge_config={DEMO.resolve()}",
                     "edge_max_flows=2000", "web_port=9999", "web_password=pw",
                     "web_open_browser=false", "web_columns=comment", "web_host=127.0.0.1"):
        assert expected in sets


def test_console_has_no_web_options() -> None:
    argv = _run("--console")
    assert "mitmproxy" in " ".join(argv[:3]) and "mitmweb" not in " ".join(argv)
    assert not [s for s in _sets(argv) if s.startswith("web_")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--record", "hits.flows"], [f"edge_record={Path('hits.flows').resolve()}"]),
        (["--chaos", "provider:acme:reset", "--chaos", "route:/event:error=503"],
         ["edge_chaos=provider:acme:reset", "edge_chaos=route:/event:error=503"]),
        (["--max-flows", "0", "--no-admin"], ["edge_max_flows=0", "edge_admin=false"]),
        (["--set", "termlog_verbosity=warn"], ["termlog_verbosity=warn"]),
    ],
)
def test_options_become_sets(args: list[str], expected: list[str]) -> None:
    sets = _sets(_run(*args))
    for item in expected:
        assert item in sets


def test_listen_overrides_the_config() -> None:
    argv = _run("--listen", "127.0.0.1:9000")
    assert argv[argv.index("--mode") + 1].endswith("@127.0.0.1:9000")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--config", "/nonexistent/edge.toml"], "edge debug: /nonexistent/edge.toml"),
        (["--config", str(DEMO), "--max-flows", "-1"], "--max-flows must be >= 0"),
    ],
)
def test_bad_input_returns_2_without_exec(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def execute(*a: object) -> None:
        raise AssertionError("must not exec")

    assert debug.main(argv, execute=execute) == 2
    assert message in capsys.readouterr().err

import subprocess
import sys

import pytest

from mrm import __version__
from mrm.cli import COMMANDS, main


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage: mrm " + name in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.splitlines()[0] == f"mrm {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_info_does_not_import_torch(tmp_path):
    code = (
        "import sys; from mrm.cli import main; "
        f"main(['info', '--data-dir', {str(tmp_path)!r}]); "
        "sys.exit(3 if 'torch' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ptbxl: not found" in result.stdout

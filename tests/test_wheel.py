"""The built wheel carries compiled catalogs, and Retorno runs from a read-only installation of it.

The wheel is built as `pip wheel .` builds it (the build compiles each messages.po into a
messages.mo, setup.py), installed with `pip install --target` into a folder made read-only, and a
process of its own — an unprivileged user's when the suite runs as root, since root writes through
read-only modes — migrates a fresh database and serves the login page in Spanish and English. No
file of the installation is added, changed or removed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CATALOGS = [f"retorno/web/locale/{lang}/LC_MESSAGES/messages.mo" for lang in ("es", "en")]
# What the build reads, copied away from the shared tree so that no earlier build's leftovers get in.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md")
NOBODY = 65534
# Run by the installed package's own Python path: the wheel's retorno, not the source checkout's.
SERVE = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
import retorno
from retorno.config import Settings
from retorno.migrations import upgrade
from retorno.web import i18n
from retorno.web.app import create_app

site, data = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(data_dir=data, secret_key="k" * 40).resolved()
upgrade(settings.database_url)
pages = {}
with TestClient(create_app(settings)) as client:
    for lang in ("es", "en"):
        client.cookies.set("retorno_lang", lang)
        response = client.get("/login")
        pages[lang] = [response.status_code, response.text]
print(json.dumps({"package": retorno.__file__, "catalogs": [str(i18n.catalog_path(lang)) for lang in ("es", "en")],
                  "pages": pages}))
"""


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_mode, path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*")}


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder an unprivileged user can read (pytest's own tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="retorno-wheel-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(folder)


def test_the_wheel_runs_from_a_read_only_installation(shared_folder: Path) -> None:
    source, wheels = shared_folder / "source", shared_folder / "wheels"
    site, data = shared_folder / "site", shared_folder / "data"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.mo"))
    for name in BUILD_INPUTS:
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels),
                    str(source)], check=True, timeout=300)
    [wheel] = wheels.glob("retorno-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert set(archive.namelist()) >= set(CATALOGS)
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    for path in [site, *site.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    data.mkdir(mode=0o777)
    data.chmod(0o777)
    before = _snapshot(site)
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if os.getuid() == 0 else []
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(data)}
    env.pop("RETORNO_DATABASE_URL", None)
    served = subprocess.run([*as_nobody, sys.executable, "-c", SERVE, str(site), str(data)], env=env,
                            capture_output=True, text=True, timeout=300, cwd=data)
    assert served.returncode == 0, served.stderr[-3000:]
    result = json.loads(served.stdout.strip().splitlines()[-1])
    assert Path(result["package"]).is_relative_to(site)
    assert result["catalogs"] == [str(site / name) for name in CATALOGS]
    assert result["pages"]["es"][0] == result["pages"]["en"][0] == 200
    assert "Iniciar sesión" in result["pages"]["es"][1] and "Log in" in result["pages"]["en"][1]
    assert _snapshot(site) == before

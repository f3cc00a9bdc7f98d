"""``pip install .`` (not editable) works from another directory: generate, train, predict, serve (issue #10).

The project is built by pip exactly as a user's ``pip install .`` builds it (PEP 517, build isolation)
from a copy of its sources, and installed without dependencies into a fresh virtual environment; that
environment then borrows the dependencies of the running one through a ``.pth`` line (a directory on
``sys.path`` whose own ``.pth`` files, such as the editable install's finder, are *not* run), so no
dependency is downloaded. The commands run in an empty working directory, which is therefore the home
of everything they make (:mod:`mmn_ddx.settings`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LAYER_FOLDERS = ("data", "features", "training", "serving")
PACKAGE_DATA = ("mmn_ddx/data/data_dictionary.yaml", "mmn_ddx/data/priors.yaml",
                "mmn_ddx/training/evaluation/templates/benchmark_report.html",
                "mmn_ddx/training/evaluation/templates/benchmark_report.md",
                "mmn_ddx/serving/web/index.html", "mmn_ddx/serving/web/app.js", "mmn_ddx/serving/web/app.css")


@dataclass(frozen=True)
class Installed:
    bin: Path
    site_packages: Path
    pip_output: str
    work: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(self.bin / "mmn-ddx"), *args], cwd=self.work, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, f"mmn-ddx {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done


def _copy_sources(destination: Path) -> Path:
    """What the build reads: pyproject.toml, the README and the folders its package-dir maps."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    folders = set(project["tool"]["setuptools"]["package-dir"].values())
    destination.mkdir()
    for name in ("pyproject.toml", project["project"]["readme"]):
        shutil.copy2(ROOT / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.parquet", "*.csv", "*.xlsx", "*.jsonl")
    for folder in folders:
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    return destination


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    source = _copy_sources(root / "source")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "MMN_DDX_HOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                          "--disable-pip-version-check", str(source)], capture_output=True, text=True, env=env,
                         timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    # only now the dependencies: pip must not see the running environment's (editable) mmn-ddx
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "_running_environment.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    work = root / "work"
    work.mkdir()
    shutil.copy2(ROOT / "examples" / "patient_mmn.json", work / "patient.json")
    return Installed(venv / "bin", site_packages, pip.stdout + pip.stderr, work, env)


def test_the_build_is_clean_and_installs_one_package_with_its_data(installed: Installed) -> None:
    assert "would be ignored" not in installed.pip_output  # setuptools' package-data warning
    top_level = {p.name for p in installed.site_packages.iterdir()}
    assert "mmn_ddx" in top_level and not top_level & set(LAYER_FOLDERS)
    record = next(installed.site_packages.glob("mmn_ddx-*.dist-info")) / "RECORD"
    files = [line.split(",", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()]
    assert {f.split("/", 1)[0] for f in files if not f.startswith("..")} == {"mmn_ddx", record.parent.name}
    for name in PACKAGE_DATA:
        assert (installed.site_packages / name).is_file(), name
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", "import mmn_ddx.serving; print(mmn_ddx.serving.__file__)"],
        cwd=installed.work,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.site_packages)  # the copy, not the checkout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_generate_train_predict_and_serve_from_another_directory(installed: Installed) -> None:
    generated = installed.run("cohort", "generate", "--n", "300", "--seed", "1")
    assert (installed.work / "data" / "cohort.parquet").is_file(), generated.stdout  # the default cohort path

    installed.run("train", "--synthetic", "600", "--quick", "--families", "xgboost", "--jobs", "1")
    for made in ("mlruns.db", "mlartifacts", "models/mmn-ddx/MLmodel"):
        assert (installed.work / made).exists(), made  # everything under the working directory ...
    assert not list(installed.site_packages.rglob("mlruns.db")) and not (installed.site_packages / "models").exists()

    predicting = installed.run("predict", "patient.json", "--json")
    predicted = json.loads(predicting.stdout)
    assert "Downloading artifacts" not in predicting.stderr  # MLflow's copy of the model out of the store is silent
    assert predicted["audit"]["model_uri"] == "models:/mmn-ddx@champion"  # ... and found there again
    assert sum(predicted["probabilities"].values()) == pytest.approx(1.0)

    port = _free_port()
    server = subprocess.Popen([str(installed.bin / "mmn-ddx"), "serve", "--port", str(port)], cwd=installed.work,
                              env=installed.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
        while True:
            assert server.poll() is None, f"serve exited: {server.communicate()[1][-3000:]}"
            try:
                status, body = _request(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer within 180 s"
                time.sleep(0.5)
        assert status == 200 and json.loads(body)["model"] == "mmn-ddx"
        status, body = _request(f"{base}/v1/predict", (installed.work / "patient.json").read_bytes())
        assert status == 200, body[:2000]
        served = json.loads(body)
        assert served["probabilities"] == pytest.approx(predicted["probabilities"], abs=1e-9)
        status, page = _request(f"{base}/")
        assert status == 200 and b"<html" in page.lower()  # the web assets were installed
    finally:
        server.terminate()
        server.communicate(timeout=60)

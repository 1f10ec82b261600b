"""The library installs as a package: pyproject.toml pins its dependencies once, the lock file
(constraints.txt) agrees with those pins, and ``pip install -e .`` from a clean copy of the
checkout gives ``import biodl`` anywhere, with the schema shipped inside the package.

The install test (marked ``slow``) builds a new venv that sees this venv's packages through a
``.pth`` file, so it needs no network: ``pip install --no-deps --no-build-isolation -e .``, then
``pip check`` confirms that the installed versions are the ones the library pins.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ALL_ENTRIES = PROJECT["dependencies"] + [
    e for extra in PROJECT["optional-dependencies"].values() for e in extra
]
PLATFORMS = {
    "Linux x86-64": {"sys_platform": "linux", "platform_machine": "x86_64"},
    "Linux ARM": {"sys_platform": "linux", "platform_machine": "aarch64"},
    "macOS Apple silicon": {"sys_platform": "darwin", "platform_machine": "arm64"},
    "Windows": {"sys_platform": "win32", "platform_machine": "AMD64"},
}


HERE = {"sys_platform": sys.platform, "platform_machine": platform.machine()}


def pins_of(lines: list[str]) -> dict[str, str]:
    """``name==version`` lines (comments, blank and ``-r``/``-e`` lines skipped) → name: version."""
    entries = [line.split("#")[0].strip() for line in lines]
    requirements = [Requirement(e) for e in entries if e and not e.startswith("-")]
    return {canonicalize_name(r.name): str(r.specifier).removeprefix("==") for r in requirements}


def pinned_here(*extras: str) -> dict[str, str]:
    """What pyproject.toml pins on this machine for the library with these extras → version."""
    pins = {}
    for extra in ("", *extras):
        entries = PROJECT["optional-dependencies"][extra] if extra else PROJECT["dependencies"]
        for requirement in map(Requirement, entries):
            if requirement.marker is None or requirement.marker.evaluate(HERE | {"extra": extra}):
                pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


def test_every_dependency_is_pinned_once():
    versions: dict[str, set[str]] = {}
    for entry in ALL_ENTRIES:
        requirement = Requirement(entry)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"pyproject.toml: {entry!r} is not pinned with '=='"
        versions.setdefault(canonicalize_name(requirement.name), set()).add(specifier.version)
    assert {name: v for name, v in versions.items() if len(v) > 1} == {}
    # Snakemake is the workflow's: the library itself must not need it.
    assert "snakemake" not in {canonicalize_name(Requirement(e).name) for e in PROJECT["dependencies"]}


@pytest.mark.parametrize("system", PLATFORMS, ids=str)
def test_the_cpu_extra_picks_one_tensorflow_build_per_platform(system):
    environment = PLATFORMS[system] | {"extra": "cpu"}
    cpu = map(Requirement, PROJECT["optional-dependencies"]["cpu"])
    chosen = [r for r in cpu if r.marker is None or r.marker.evaluate(environment)]
    assert len(chosen) == 1, [str(r) for r in chosen]
    (gpu,) = map(Requirement, PROJECT["optional-dependencies"]["gpu"])
    assert chosen[0].specifier == gpu.specifier
    assert chosen[0].name == ("tensorflow-cpu" if system in {"Linux x86-64", "Windows"} else "tensorflow")


def test_constraints_agree_with_the_pins():
    locked = pins_of((ROOT / "constraints.txt").read_text().splitlines())
    wanted = pins_of((ROOT / "requirements-dev.txt").read_text().splitlines()) | pinned_here(
        "cpu", "workflow"
    )
    differing = {name: (pin, locked.get(name)) for name, pin in wanted.items() if locked.get(name) != pin}
    assert not differing, f"pin vs constraints.txt: {differing}"
    # requirements.txt points at the project instead of repeating its pins.
    assert pins_of((ROOT / "requirements.txt").read_text().splitlines()) == {}


def test_this_venv_has_the_pinned_versions():
    """The tests run against the pinned versions (a stale .venv fails here, not somewhere obscure)."""
    differing = {}
    for name, pin in pinned_here("cpu", "workflow").items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = None
        if version != pin:
            differing[name] = (pin, version)
    assert not differing, f"pinned vs installed: {differing}"


# --- Installing from a clean copy ------------------------------------------------------------


def clean_copy(destination: Path) -> Path:
    """The files a clone of this checkout has (tracked, or new and not ignored), with their
    current contents, copied to ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def run(*command: str | Path, cwd: Path) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(list(map(str, command)), cwd=cwd, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed_copy(tmp_path_factory) -> tuple[Path, Path]:
    """A clean copy of the checkout, installed editable into a new venv: (copy, venv's python)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot tell which files a clone would have")
    base = tmp_path_factory.mktemp("install")
    copy = clean_copy(base / "clone")
    run(sys.executable, "-m", "venv", base / "venv", cwd=base)
    python = base / "venv" / "bin" / "python"
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=base).strip()
    )
    # The dependencies: this venv's packages, which the install below must accept as the pinned ones.
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", ".", cwd=copy)
    return copy, python


@pytest.mark.slow
def test_editable_install_imports_the_library_from_anywhere(installed_copy, tmp_path):
    copy, python = installed_copy
    probe = (
        "import importlib.util, biodl, biodl.training.loop\n"
        "from biodl.config.schema import SCHEMA\n"
        "print(biodl.__file__, SCHEMA.is_file(), importlib.util.find_spec('train'))\n"
    )
    printed = run(python, "-c", probe, cwd=tmp_path).split()
    assert printed == [str(copy / "scripts" / "biodl" / "__init__.py"), "True", "None"]
    # The library's pinned dependencies are the installed versions (others' problems are not ours).
    checked = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True).stdout
    assert not [line for line in checked.splitlines() if line.startswith("biodl ")], checked


@pytest.mark.slow
def test_the_wheel_holds_the_package_and_its_schema(installed_copy, tmp_path):
    copy, python = installed_copy
    run(
        python,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        tmp_path,
        ".",
        cwd=copy,
    )
    (wheel,) = tmp_path.glob("biodl-*.whl")
    names = {name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name}
    library = copy / "scripts"
    expected = {str(p.relative_to(library)) for p in (library / "biodl").rglob("*.py")}
    assert names == expected | {"biodl/config/config.schema.yaml"}

"""The per-step conda envs in ``envs/`` install what each step imports, at the pinned versions.

Conda channels are not reachable where the tests run, so the envs cannot be built here. Instead:

- Snakemake itself loads the workflow and names, for every rule that runs a job, its ``conda:``
  env file and its ``script:``, resolved as Snakemake resolves them (no parser of our own);
- the script's imports are followed through the ``biodl`` modules it imports, transitively (files
  found by importlib's path finder in the script's folder, which Snakemake puts on the script's
  ``sys.path``; read with ``ast``, never run; imports inside functions count, those under
  ``if TYPE_CHECKING:`` do not) down to third-party packages, which the env must install (with
  what they load undeclared: Keras its TensorFlow backend, openslide-python openslide-bin);
- each env takes only ``python=3.11`` and pip from conda, and pins every package with ``==`` at
  the version of ``pyproject.toml``, including the pyproject-pinned packages that its packages
  depend on (per this venv's metadata), else pip would install other versions of them; and it
  installs nothing that its rules' imports do not need.

Why it matters: Snakemake's script preamble appends the runner's ``sys.path`` to the script's, so
a package missing from an env still imports on a workstation and breaks only on a cluster node.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CONDA_PACKAGES = ["pip", "python=3.11"]  # all the rest comes from PyPI, pinned
CHANNELS = {"conda-forge", "nodefaults"}
# One package in two builds: the CPU one (most envs) and the CUDA one (envs/train.yaml).
BUILDS = [{"tensorflow", "tensorflow-cpu"}]
# Packages that load another at run time without declaring it as a dependency.
UNDECLARED = {
    "keras": "tensorflow",  # its backend (KERAS_BACKEND, TensorFlow by default)
    "openslide-python": "openslide-bin",  # the OpenSlide library itself
}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# --- The rules, as Snakemake reads them ------------------------------------------------------


@dataclass(frozen=True)
class Step:
    rule: str
    where: str  # the rule's file:line
    env: Path | None
    script: Path | None
    problems: tuple[str, ...]


def workflow_steps(snakefile: Path) -> list[Step]:
    """Every rule of the workflow that runs a job, with its env file and script."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import OutputSettings, Quietness, ResourceSettings

    # The API has no public accessor of the parsed rules; _workflow is what its own lint() and
    # list_rules() use (snakemake is pinned).
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(ResourceSettings(), snakefile=snakefile, workdir=snakefile.parent)._workflow
        return [_step(rule, workflow.linemaps) for rule in workflow.rules if not rule.norun]


def _step(rule, linemaps: dict) -> Step:
    where = f"{rel(Path(rule.snakefile))}:{linemaps[rule.snakefile][rule.lineno]}"
    problems = []
    if rule.script is None:
        problems.append("runs no script: (shell:, run: and the rest cannot be checked here)")
    if rule.conda_env is None:
        problems.append("has no conda: env file")
    elif not isinstance(rule.conda_env, str):
        problems.append(f"conda: {rule.conda_env!r} is not the path of an env file")

    def path(value: object) -> Path | None:
        return Path(rule.basedir.join(value).get_path_or_uri(secret_free=True)).resolve() if value else None

    env, script = path(rule.conda_env) if isinstance(rule.conda_env, str) else None, path(rule.script)
    problems += [
        f"{what} {rel(p)} does not exist"
        for what, p in [("env", env), ("script", script)]
        if p and not p.is_file()
    ]
    return Step(rule.name, where, env, script, tuple(f"rule {rule.name} ({where}): {p}" for p in problems))


# --- What a script imports -------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    module: str  # as written
    file: Path
    line: int

    def __str__(self) -> str:
        return f"{rel(self.file)}:{self.line} ({self.module})"


def local_module(name: str, root: Path) -> Path | None:
    """The file of module ``name`` under ``root`` (a package's ``__init__.py``), found as the import
    system finds it, without running anything; None when there is no such module."""
    spec, locations = None, [str(root)]
    for depth in range(1, name.count(".") + 2):
        spec = PathFinder.find_spec(".".join(name.split(".")[:depth]), locations)
        if spec is None:
            return None
        locations = list(spec.submodule_search_locations or [])
    return Path(spec.origin) if spec and spec.origin else root.joinpath(*name.split("."))  # namespace


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run: anywhere (in functions too), except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            yield from runtime_imports(ast.Module(body=node.orelse, type_ignores=[]))
        else:
            yield from runtime_imports(node)


def third_party_imports(script: Path) -> tuple[dict[str, list[Import]], list[str]]:
    """Top-level third-party names that ``script`` and the local modules it imports (transitively)
    import, with where; and imports of local modules that do not exist."""
    root = script.parent
    found: dict[str, list[Import]] = {}
    problems: list[str] = []
    todo, seen = [(script, "")], {script}

    def follow(name: str, site: Import, required: bool) -> None:
        file = local_module(name, root)
        if file is None and required:
            problems.append(f"{site}: no module {name} under {rel(root)}/")
        if file is not None and file.is_file() and file not in seen:
            seen.add(file)
            todo.append((file, name if file.name == "__init__.py" else name.rpartition(".")[0]))

    while todo:
        file, package = todo.pop()
        for node in runtime_imports(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                targets = [(alias.name, []) for alias in node.names]
            else:
                relative = "." * node.level + (node.module or "")
                name = importlib.util.resolve_name(relative, package) if node.level else relative
                targets = [(name, [alias.name for alias in node.names])]
            for name, members in targets:
                site, top = Import(name, file, node.lineno), name.partition(".")[0]
                if top in sys.stdlib_module_names:
                    continue
                if local_module(top, root) is None:
                    found.setdefault(top, []).append(site)
                    continue
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # packages run their __init__ first
                    follow(".".join(parts[:depth]), site, required=True)
                for member in members:  # ``from biodl.data import dna``: a submodule
                    follow(f"{name}.{member}", site, required=False)
    return found, problems


def same_package(name: str) -> set[str]:
    """Distribution ``name`` and the other builds of the same package."""
    return next((builds for builds in BUILDS if name in builds), {name})


def distributions(top: str) -> set[str]:
    """The distributions that install import name ``top`` (per this venv), in any build."""
    return set().union(*(same_package(canonicalize_name(d)) for d in _packages_distributions().get(top, [])))


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


# --- Env files and pins ----------------------------------------------------------------------


def pinned_version(requirement: Requirement) -> str | None:
    """The version of a ``name==version`` requirement; None for anything looser."""
    specifiers = list(requirement.specifier)
    exact = len(specifiers) == 1 and specifiers[0].operator == "=="
    return specifiers[0].version if exact else None


@functools.cache
def pyproject_pins(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Every package pyproject.toml pins, in the dependencies or an extra → its version."""
    project = tomllib.loads(pyproject.read_text())["project"]
    entries = project["dependencies"] + [
        e for extra in project["optional-dependencies"].values() for e in extra
    ]
    return {canonicalize_name(r.name): pinned_version(r) for r in map(Requirement, entries)}


@dataclass(frozen=True)
class Env:
    path: Path
    pins: dict[str, str]  # name → version
    problems: tuple[str, ...]


def read_env(path: Path, pins: dict[str, str]) -> Env:
    """An env file's pip pins, and where its form or its versions differ from ``pins``."""
    where, env = rel(path), yaml.safe_load(path.read_text())
    problems, env_pins = [], {}
    if "conda-forge" not in env.get("channels", []) or set(env["channels"]) - CHANNELS:
        problems.append(f"{where}: channels {env.get('channels')}; expected conda-forge (and nodefaults)")
    from_conda = sorted(d for d in env["dependencies"] if isinstance(d, str))
    if from_conda != CONDA_PACKAGES:
        problems.append(f"{where}: conda installs {from_conda}; expected {CONDA_PACKAGES}, the rest with pip")
    pip = [entry for d in env["dependencies"] if isinstance(d, dict) for entry in d.get("pip", [])]
    for entry in pip:
        try:
            requirement = Requirement(entry)
        except InvalidRequirement:
            problems.append(f"{where}: cannot read pip entry {entry!r}")
            continue
        name, version = canonicalize_name(requirement.name), pinned_version(requirement)
        if name in env_pins:
            problems.append(f"{where}: {requirement.name} is listed twice")
        if version is None:
            problems.append(f"{where}: {entry!r} is not pinned with '=='")
        elif name not in pins:
            problems.append(f"{where}: {entry!r} is not pinned in pyproject.toml; pin it there too")
        elif pins[name] != version:
            problems.append(
                f"{where}: {entry!r} differs from the pin in pyproject.toml ({name}=={pins[name]})"
            )
        env_pins[name] = version or ""
    return Env(path, env_pins, tuple(problems))


def imported_packages(step: Step, env: Env) -> tuple[set[str], list[str]]:
    """The env's packages that the step's script imports (directly or through biodl), and the
    imported packages that the env lacks, named with the importing module and line."""
    imports, problems = third_party_imports(step.script)
    problems = [f"rule {step.rule}: {p}" for p in problems]
    used: set[str] = set()
    for top, sites in sorted(imports.items()):
        wanted, where = distributions(top), "; ".join(map(str, sites))
        if not wanted:
            problems.append(f"rule {step.rule}: {top}, imported at {where}, is not installed here")
        needs = [(wanted, "")] + [
            (same_package(UNDECLARED[d]), f", which {d} loads") for d in wanted & UNDECLARED.keys()
        ]
        for builds, why in needs:
            used |= builds & env.pins.keys()
            if builds and not builds & env.pins.keys():
                what = " or ".join(sorted(builds)) + why
                problems.append(f"rule {step.rule}: env {rel(env.path)} lacks {what}, imported at {where}")
    return used, problems


def installed(name: str) -> importlib.metadata.Distribution | None:
    """This venv's distribution ``name``, or the other build of the same package."""
    for candidate in sorted(same_package(name)):
        try:
            return importlib.metadata.distribution(candidate)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@functools.cache
def dependencies(name: str) -> dict[str, str]:
    """What installing ``name`` installs besides it, transitively (per this venv's metadata; no
    extras) → the distribution that requires it."""
    found: dict[str, str] = {}
    todo = [name]
    while todo:
        dist = installed(todo.pop())
        for requirement in map(Requirement, (dist.requires or []) if dist else []):
            dependency = canonicalize_name(requirement.name)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            if dependency != name and dependency not in found:
                found[dependency] = canonicalize_name(dist.name)
                todo.append(dependency)
    return found


def unpinned_dependencies(env: Env, pins: dict[str, str]) -> list[str]:
    """Packages pinned in pyproject.toml that the env's packages depend on but that the env does
    not pin, so pip would choose their versions."""
    return [
        f"{rel(env.path)}: {name} depends on {dependency} (via {via}), pinned in pyproject.toml "
        f"({dependency}=={pins[dependency]}) but not in the env"
        for name in env.pins
        for dependency, via in dependencies(name).items()
        if dependency in pins and dependency not in env.pins
    ]


def unneeded_packages(env: Env, used: set[str]) -> list[str]:
    """The env's packages that neither its rules import nor what they import depends on."""
    needed = used.union(*(dependencies(name) for name in used))
    return [
        f"{rel(env.path)}: nothing its rules import needs {name}" for name in env.pins if name not in needed
    ]


# --- The workflow's rules and envs -----------------------------------------------------------


@pytest.fixture(scope="module")
def steps() -> list[Step]:
    return workflow_steps(ROOT / "Snakefile")


@pytest.fixture(scope="module")
def env_usage(steps) -> dict[Path, tuple[Env, set[str], list[str]]]:
    """Per env file: the env, the packages its rules import, and what they import that it lacks."""
    usage = {}
    for path in sorted({step.env for step in steps if step.env and step.script and not step.problems}):
        env, used, problems = read_env(path, pyproject_pins()), set(), []
        for step in (s for s in steps if s.env == path):
            step_used, step_problems = imported_packages(step, env)
            used, problems = used | step_used, problems + step_problems
        usage[path] = env, used, problems
    return usage


def test_every_rule_runs_a_script_in_an_existing_env(steps):
    assert len(steps) >= 10, [s.rule for s in steps]
    problems = [p for step in steps for p in step.problems]
    assert not problems, "\n".join(problems)


def test_every_env_installs_what_its_rules_import(env_usage):
    problems = [p for _, _, env_problems in env_usage.values() for p in env_problems]
    assert not problems, "\n".join(problems)


def test_every_env_installs_only_what_its_rules_need(env_usage):
    problems = [p for env, used, _ in env_usage.values() for p in unneeded_packages(env, used)]
    assert not problems, "\n".join(problems)


ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def test_every_env_file_is_used(steps):
    assert len(ENV_FILES) >= 5, ENV_FILES
    unused = set(ENV_FILES) - {step.env for step in steps}
    assert not unused, f"env files no rule uses: {sorted(map(rel, unused))}"


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_agree_with_pyproject(path):
    env = read_env(path, pyproject_pins())
    assert env.pins and not env.problems, "\n".join(env.problems)
    problems = unpinned_dependencies(env, pyproject_pins())
    assert not problems, "\n".join(problems)


# --- The checks themselves can fail ----------------------------------------------------------

PINS = {"numpy": "2.4.6", "pyyaml": "6.0.3", "scikit-learn": "1.9.1", "scipy": "1.17.1", "keras": "3.15.1"}
PINS |= {"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def write_env(path: Path, *pip: str) -> Path:
    return write(
        path,
        yaml.safe_dump(
            {"channels": ["conda-forge"], "dependencies": ["python=3.11", "pip", {"pip": list(pip)}]}
        ),
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A workflow with one rule, its script and a package the script imports."""
    scripts = tmp_path / "scripts"
    write(scripts / "pkg" / "__init__.py", "import os\n")
    write(scripts / "pkg" / "io.py", "import numpy as np\nfrom .util import helper\n")
    write(
        scripts / "pkg" / "util.py",
        """\
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            import pandas  # for annotations only
        def helper():
            import sklearn.metrics  # imported when called: still needed
        """,
    )
    write(scripts / "step.py", "from pkg import io\nimport yaml\n")
    write(
        tmp_path / "workflow" / "rules" / "step.smk",
        """\
        rule step:
            output:
                "out.txt",
            conda:
                "../../envs/step.yaml"
            script:
                "../../scripts/step.py"
        """,
    )
    write(tmp_path / "Snakefile", 'include: "workflow/rules/step.smk"\n')
    write_env(tmp_path / "envs" / "step.yaml", "numpy==2.4.6")
    return tmp_path


def test_imports_are_followed_through_local_modules(project):
    found, problems = third_party_imports(project / "scripts" / "step.py")
    assert not problems
    assert {top: [str(s) for s in sites] for top, sites in found.items()} == {
        "yaml": [f"{project}/scripts/step.py:2 (yaml)"],
        "numpy": [f"{project}/scripts/pkg/io.py:1 (numpy)"],
        "sklearn": [f"{project}/scripts/pkg/util.py:5 (sklearn.metrics)"],
    }


def test_a_missing_package_names_rule_env_and_importing_line(project):
    (step,) = workflow_steps(project / "Snakefile")
    assert (step.rule, step.problems) == ("step", ())
    assert step.where.endswith("workflow/rules/step.smk:1")
    env = read_env(write_env(step.env, "numpy==2.4.6", "pyyaml==6.0.3"), PINS)
    used, problems = imported_packages(step, env)
    site = f"{project}/scripts/pkg/util.py:5 (sklearn.metrics)"
    assert problems == [f"rule step: env {step.env} lacks scikit-learn, imported at {site}"]
    assert used == {"numpy", "pyyaml"} and not env.problems
    pins = ["numpy==2.4.6", "pyyaml==6.0.3", "scikit-learn==1.9.1", "scipy==1.17.1", "keras==3.15.1"]
    full = read_env(write_env(step.env, *pins), PINS)
    used, problems = imported_packages(step, full)
    assert problems == [] and unpinned_dependencies(full, PINS) == []
    # scipy stays (scikit-learn depends on it); nothing the rule imports needs keras.
    assert unneeded_packages(full, used) == [f"{step.env}: nothing its rules import needs keras"]


def test_rules_without_env_or_script_are_reported(tmp_path):
    write(
        tmp_path / "Snakefile",
        """\
        rule shell_only:
            output:
                "a",
            shell:
                "touch {output}"


        rule missing_env:
            output:
                "b",
            conda:
                "envs/none.yaml"
            script:
                "scripts/none.py"
        """,
    )
    problems = [p for step in workflow_steps(tmp_path / "Snakefile") for p in step.problems]
    shell_only, missing_env = (
        f"rule shell_only ({tmp_path}/Snakefile:1)",
        f"rule missing_env ({tmp_path}/Snakefile:8)",
    )
    assert problems == [
        f"{shell_only}: runs no script: (shell:, run: and the rest cannot be checked here)",
        f"{shell_only}: has no conda: env file",
        f"{missing_env}: env {tmp_path}/envs/none.yaml does not exist",
        f"{missing_env}: script {tmp_path}/scripts/none.py does not exist",
    ]


def test_a_version_differing_from_the_pin_is_named(tmp_path):
    entries = ["numpy==2.4.5", "scipy>=1", "tqdm==4.70.1", "numpy==2.4.6"]
    env = read_env(write_env(tmp_path / "e.yaml", *entries), PINS)
    assert env.problems == (
        f"{tmp_path}/e.yaml: 'numpy==2.4.5' differs from the pin in pyproject.toml (numpy==2.4.6)",
        f"{tmp_path}/e.yaml: 'scipy>=1' is not pinned with '=='",
        f"{tmp_path}/e.yaml: 'tqdm==4.70.1' is not pinned in pyproject.toml; pin it there too",
        f"{tmp_path}/e.yaml: numpy is listed twice",
    )
    conda = write(tmp_path / "c.yaml", "channels: [defaults]\ndependencies: [python=3.12, numpy=2.4.6]\n")
    assert read_env(conda, PINS).problems == (
        f"{tmp_path}/c.yaml: channels ['defaults']; expected conda-forge (and nodefaults)",
        f"{tmp_path}/c.yaml: conda installs ['numpy=2.4.6', 'python=3.12']; expected {CONDA_PACKAGES}, "
        "the rest with pip",
    )


def test_tensorflow_builds_and_the_keras_backend(tmp_path):
    step = Step("k", "k.smk:1", None, write(tmp_path / "scripts" / "k.py", "import keras\n"), ())
    cuda = read_env(write_env(tmp_path / "gpu.yaml", "tensorflow[and-cuda]==2.21.0", "keras==3.15.1"), PINS)
    assert not cuda.problems and imported_packages(step, cuda) == ({"keras", "tensorflow"}, [])
    _, problems = imported_packages(step, read_env(write_env(tmp_path / "k.yaml", "keras==3.15.1"), PINS))
    lacks = "lacks tensorflow or tensorflow-cpu, which keras loads"
    assert problems == [
        f"rule k: env {tmp_path}/k.yaml {lacks}, imported at {tmp_path}/scripts/k.py:1 (keras)"
    ]


def test_an_unpinned_dependency_is_reported(tmp_path):
    # scikit-learn depends on scipy (per this venv's metadata), which the pins include.
    env = read_env(write_env(tmp_path / "e.yaml", "scikit-learn==1.9.1", "numpy==2.4.6"), PINS)
    assert unpinned_dependencies(env, PINS) == [
        f"{tmp_path}/e.yaml: scikit-learn depends on scipy (via scikit-learn), pinned in pyproject.toml "
        "(scipy==1.17.1) but not in the env"
    ]

"""Static checks of the per-step conda environments in ``envs/``.

The conda envs cannot be built where the tests run (no conda channels), so this module checks
them against the code instead:

1. every rule in ``workflow/rules/*.smk`` (and ``Snakefile``) that runs something has a
   ``conda:`` env file that exists;
2. every third-party package that the rule's ``script:`` imports, directly or through the
   ``biodl`` modules it imports (transitively), is listed in that env;
3. every env declares ``python=3.11``, pins each package with ``==`` at the version of
   ``requirements.txt`` (``tensorflow-cpu`` and ``tensorflow[...]`` count as one package), and
   also pins every requirements.txt package its pins depend on (else pip picks another version).

Why this matters beyond tidiness: Snakemake's script preamble appends the *runner's* ``sys.path``
to the script's, so a package missing from a conda env can still be imported from the runner's
environment on a workstation and only break on a cluster node.

Only the standard library, PyYAML and ``importlib.metadata`` (of the venv the tests run in, where
every runtime dependency is installed) are used; scripts are parsed with ``ast``, never imported.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES_GLOB = "workflow/rules/*.smk"
EXTRA_SNAKEFILES = ("workflow/Snakefile", "Snakefile")
ENVS_DIR = ROOT / "envs"
REQUIREMENTS = ROOT / "requirements.txt"
PYTHON_VERSION = "3.11"
ALLOWED_CHANNELS = {"conda-forge", "nodefaults"}

# Import names whose distribution is not found (or not found unambiguously) by
# importlib.metadata.packages_distributions(). Consulted first.
IMPORT_TO_DIST = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "tensorflow": "tensorflow",
    "snakemake": "snakemake",
    "PIL": "pillow",
}
# Distributions that are the same package for version agreement and env membership: the CPU
# build in requirements.txt, the CUDA build (tensorflow[and-cuda]) in the GPU env.
EQUIVALENT_DISTS = {"tensorflow-cpu": "tensorflow", "tensorflow-gpu": "tensorflow"}

# Runtime dependencies that a package's metadata does not declare: importing keras 3 imports its
# backend (KERAS_BACKEND, default tensorflow), which keras does not require.
IMPLICIT_RUNTIME_DEPS = {
    "keras": {"tensorflow": "keras imports its backend (tensorflow by default) when imported"},
}

# Snakemake directives that make a rule run a job. A rule with none of them (e.g. ``rule all``
# with only ``input:``) only aggregates targets and needs no environment.
ACTION_DIRECTIVES = {"shell", "script", "run", "notebook", "wrapper", "cwl", "template_engine"}


# --------------------------------------------------------------------------------------------
# Names and pins
# --------------------------------------------------------------------------------------------


def normalise(name: str) -> str:
    """Distribution name for comparison: lower case, ``_``/``.`` → ``-``, extras stripped,
    CPU/GPU builds of TensorFlow folded into ``tensorflow``."""
    name = re.sub(r"\[.*\]$", "", name.strip())
    name = re.sub(r"[-_.]+", "-", name).lower()
    return EQUIVALENT_DISTS.get(name, name)


PIN_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*==\s*(?P<version>[^\s;#,]+)$"
)


def parse_requirements(path: Path) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """``{normalised name: (line as written, version)}`` and a list of problems."""
    pins: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    if not path.is_file():
        return pins, [f"{path} not found"]
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = PIN_RE.match(line)
        if not m:
            problems.append(f"{path.name}:{lineno}: {raw.strip()!r} is not a 'name==version' pin")
            continue
        key = normalise(m["name"])
        if key in pins:
            problems.append(f"{path.name}:{lineno}: {m['name']} is pinned twice")
        pins[key] = (line, m["version"])
    return pins, problems


# --------------------------------------------------------------------------------------------
# Snakemake rule files
# --------------------------------------------------------------------------------------------

RULE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<kind>rule|checkpoint)\b\s*(?P<name>\w+)?\s*:")
USE_RULE_RE = re.compile(
    r"^(?P<indent>[ \t]*)use\s+rule\s+(?P<orig>[\w*]+)"
    r"(?:\s+from\s+(?P<module>\w+))?(?:\s+as\s+(?P<name>[\w*]+))?\s*(?P<with>with\s*:)?"
)
DIRECTIVE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<key>[A-Za-z_]\w*)\s*:(?P<rest>.*)$")


@dataclass
class Directive:
    raw: str  # the value's source text
    value: object  # the literal value, or None when it is not a literal
    path: Path | None  # for a string literal: resolved relative to the rule's file


@dataclass
class Rule:
    name: str
    file: Path
    line: int
    directives: dict[str, Directive] = field(default_factory=dict)
    use_of: str | None = None  # ``use rule ORIG as NAME``: ORIG
    problems: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{rel(self.file)}:{self.line}"


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def indent_width(text: str) -> int:
    return len(text.expandtabs(4)) - len(text.expandtabs(4).lstrip())


def is_blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def literal(raw: str) -> object | None:
    """The literal value of a directive's text (comments allowed), or None."""
    text = textwrap.dedent(raw).strip()
    if not text:
        return None
    try:
        return ast.literal_eval(ast.parse("(\n" + text + "\n)", mode="eval").body)
    except (SyntaxError, ValueError):
        return None


def parse_smk(path: Path) -> list[Rule]:
    """The rules (and checkpoints, and ``use rule`` derivations) of one Snakemake file, with
    their top-level directives. Values that are string literals are resolved to paths relative
    to ``path``, as Snakemake resolves ``conda:`` and ``script:``."""
    lines = path.read_text().splitlines()
    rules: list[Rule] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m_rule = RULE_RE.match(line)
        m_use = None if m_rule else USE_RULE_RE.match(line)
        if not (m_rule or m_use):
            i += 1
            continue
        header_indent = indent_width((m_rule or m_use)["indent"])
        if m_rule:
            rule = Rule(m_rule["name"] or f"<anonymous {path.name}:{i + 1}>", path, i + 1)
        else:
            rule = Rule(m_use["name"] or m_use["orig"], path, i + 1, use_of=m_use["orig"])
            if m_use["module"]:
                rule.problems.append(
                    f"'use rule {m_use['orig']} from {m_use['module']}': rules from modules are "
                    "not checked by this test; define the rule in workflow/rules/"
                )
            elif "*" in m_use["orig"] or "*" in (m_use["name"] or ""):
                rule.problems.append("'use rule' with a wildcard is not checked by this test")
        # The rule's body: following lines indented deeper than the header.
        body: list[tuple[int, str]] = []
        j = i + 1
        while j < len(lines):
            if not is_blank_or_comment(lines[j]) and indent_width(lines[j]) <= header_indent:
                break
            body.append((j, lines[j]))
            j += 1
        # Directives are the body's lines at its first (shallowest) indentation.
        code = [(k, text) for k, text in body if not is_blank_or_comment(text)]
        if code:
            level = min(indent_width(text) for _, text in code)
            for n, (_k, text) in enumerate(code):
                m_dir = DIRECTIVE_RE.match(text)
                if indent_width(text) != level or not m_dir:
                    continue
                value_lines = [m_dir["rest"]]
                for _, more in code[n + 1 :]:
                    if indent_width(more) <= level:
                        break
                    value_lines.append(more)
                raw = "\n".join(value_lines)
                value = literal(raw)
                resolved = (path.parent / value).resolve() if isinstance(value, str) else None
                rule.directives[m_dir["key"]] = Directive(raw.strip(), value, resolved)
        rules.append(rule)
        i = j
    return rules


def resolve_use_rules(rules: list[Rule]) -> None:
    """``use rule A as B [with: ...]``: B gets A's directives, overridden by its own."""
    by_name = {r.name: r for r in rules if r.use_of is None}
    for rule in rules:
        if rule.use_of is None or rule.problems:
            continue
        orig = by_name.get(rule.use_of)
        if orig is None:
            rule.problems.append(f"'use rule {rule.use_of}': no rule {rule.use_of!r} found")
            continue
        rule.directives = {**orig.directives, **rule.directives}


def rule_files(root: Path) -> list[Path]:
    files = sorted(root.glob(RULE_FILES_GLOB))
    files += [root / name for name in EXTRA_SNAKEFILES if (root / name).is_file()]
    return files


def load_rules(root: Path) -> tuple[list[Rule], dict[Path, str]]:
    """All rules under ``root``, and the files that could not be read/parsed (with why)."""
    rules: list[Rule] = []
    errors: dict[Path, str] = {}
    for f in rule_files(root):
        try:
            rules += parse_smk(f)
        except (OSError, UnicodeDecodeError) as exc:  # a file being rewritten right now
            errors[f] = repr(exc)
    resolve_use_rules(rules)
    return rules, errors


def check_rule_env(rule: Rule) -> tuple[Path | None, list[str]]:
    """The rule's env file (None if there is none to check) and problems with it."""
    problems = [f"rule {rule.name} ({rule.where}): {p}" for p in rule.problems]
    actions = ACTION_DIRECTIVES & rule.directives.keys()
    if not actions:  # an aggregation target such as ``rule all``
        return None, problems
    if "run" in actions:
        problems.append(
            f"rule {rule.name} ({rule.where}) uses 'run:', which executes inside the Snakemake "
            "process and cannot use a conda env; move the code to a 'script:' with 'conda:'"
        )
    conda = rule.directives.get("conda")
    if conda is None:
        problems.append(f"rule {rule.name} ({rule.where}) has no 'conda:' directive")
        return None, problems
    if conda.path is None:
        problems.append(
            f"rule {rule.name} ({rule.where}): 'conda: {conda.raw}' is not a string literal path "
            "to an env file; this test (and a reader) cannot tell which env the rule uses"
        )
        return None, problems
    if conda.path.suffix not in {".yaml", ".yml"}:
        problems.append(f"rule {rule.name} ({rule.where}): 'conda: {conda.value!r}' is not a .yaml env file")
        return None, problems
    if not conda.path.is_file():
        problems.append(
            f"rule {rule.name} ({rule.where}): conda env {conda.value!r} "
            f"(resolved to {rel(conda.path)}) does not exist"
        )
        return None, problems
    return conda.path, problems


def check_rule_script(rule: Rule) -> tuple[Path | None, list[str]]:
    """The rule's Python script (None if it has no ``script:``) and problems with it."""
    script = rule.directives.get("script")
    if script is None:
        return None, []
    if script.path is None:
        return None, [f"rule {rule.name} ({rule.where}): 'script: {script.raw}' is not a string literal path"]
    if script.path.suffix != ".py":
        return None, [
            f"rule {rule.name} ({rule.where}): script {script.value!r} is not Python; "
            "its imports cannot be checked"
        ]
    if not script.path.is_file():
        return None, [
            f"rule {rule.name} ({rule.where}): script {script.value!r} "
            f"(resolved to {rel(script.path)}) does not exist"
        ]
    return script.path, []


# --------------------------------------------------------------------------------------------
# Imports of a script and, transitively, of the local modules (biodl) it imports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSite:
    module: str  # the dotted name as imported
    file: Path
    line: int

    def __str__(self) -> str:
        return f"{rel(self.file)}:{self.line} ('{self.module}')"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Import nodes that run at runtime (bodies of ``if TYPE_CHECKING:`` are skipped)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _local_module_file(root: Path, parts: list[str]) -> Path | None:
    """The file of local module ``parts`` under ``root`` (package ``__init__`` or ``.py``)."""
    base = root.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    if base.is_dir():  # namespace package: nothing to execute
        return base
    return None


def _is_local(root: Path, top: str) -> bool:
    return _local_module_file(root, [top]) is not None


def collect_third_party_imports(
    script: Path, local_root: Path | None = None
) -> tuple[dict[str, list[ImportSite]], list[str]]:
    """Third-party top-level import names of ``script`` and of every local module it imports,
    transitively, mapped to where they are imported; and problems (unreadable files, local
    modules that do not exist).

    Local modules are those under ``local_root`` (default: the script's folder, which Snakemake
    puts on the script's ``sys.path``), e.g. the ``biodl`` package. Standard-library modules are
    ignored.
    """
    local_root = (local_root or script.parent).resolve()
    found: dict[str, list[ImportSite]] = {}
    problems: list[str] = []
    seen: set[Path] = set()
    todo: list[Path] = [script.resolve()]

    def add_local(parts: list[str], site: ImportSite, required: bool = True) -> bool:
        """Queue local module ``parts`` and the packages containing it."""
        for n in range(1, len(parts) + 1):
            f = _local_module_file(local_root, parts[:n])
            if f is None:
                if required:
                    problems.append(
                        f"local module {'.'.join(parts[:n])!r} imported at {site} not found "
                        f"under {rel(local_root)}/"
                    )
                return False
            if f.is_file() and f not in seen:
                todo.append(f)
        return True

    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tree = ast.parse(current.read_text(), filename=str(current))
        except (OSError, SyntaxError, UnicodeDecodeError) as exc:
            problems.append(f"cannot parse {rel(current)}: {exc}")
            continue
        try:
            current_parts = list(current.relative_to(local_root).with_suffix("").parts)
        except ValueError:  # the script itself may live elsewhere
            current_parts = [current.stem]
        # The package a relative import starts from: the module's own package (for an
        # ``__init__.py``, the package it initialises, which is the same folder).
        package_parts = current_parts[:-1]
        for node in _import_nodes(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    site = ImportSite(alias.name, current, node.lineno)
                    top = parts[0]
                    if top in sys.stdlib_module_names:
                        continue
                    if _is_local(local_root, top):
                        add_local(parts, site)
                    else:
                        found.setdefault(top, []).append(site)
                continue
            # ImportFrom
            if node.level:  # relative import: always local
                base = package_parts[: len(package_parts) - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
                shown = "." * node.level + (node.module or "")
                site = ImportSite(shown, current, node.lineno)
            else:
                parts = node.module.split(".")
                site = ImportSite(node.module, current, node.lineno)
                top = parts[0]
                if top in sys.stdlib_module_names:
                    continue
                if not _is_local(local_root, top):
                    found.setdefault(top, []).append(site)
                    continue
            if parts and not add_local(parts, site):
                continue
            # ``from biodl import encode``: a submodule, when such a file exists.
            for alias in node.names:
                if alias.name != "*":
                    add_local(parts + [alias.name], site, required=False)
    return found, problems


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions_for_import(top: str) -> set[str]:
    """Normalised distribution names that provide top-level import ``top`` (empty if unknown)."""
    if top in IMPORT_TO_DIST:
        return {normalise(IMPORT_TO_DIST[top])}
    return {normalise(d) for d in _packages_distributions().get(top, [])}


# --------------------------------------------------------------------------------------------
# Env files
# --------------------------------------------------------------------------------------------

CONDA_SPEC_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<op>==?)?\s*(?P<version>[^\s=]+)?(?:=\S+)?$"
)


@dataclass
class Env:
    path: Path
    pins: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (as written, version)
    problems: list[str] = field(default_factory=list)


def parse_env(path: Path, requirements: dict[str, tuple[str, str]]) -> Env:
    """Read a conda env file and check its form and its pins against ``requirements``."""
    env = Env(path)
    where = rel(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        env.problems.append(f"{where}: cannot read: {exc}")
        return env
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        env.problems.append(f"{where}: no 'dependencies:' list")
        return env
    channels = data.get("channels") or []
    if "conda-forge" not in channels or set(channels) - ALLOWED_CHANNELS:
        env.problems.append(
            f"{where}: channels are {channels}; expected conda-forge (and optionally nodefaults)"
        )

    def add(name: str, written: str, version: str) -> None:
        key = normalise(name)
        if key in env.pins:
            env.problems.append(f"{where}: {name} is listed twice")
        env.pins[key] = (written, version)
        req = requirements.get(key)
        if req is None:
            env.problems.append(
                f"{where}: {written!r} is not in requirements.txt; pin it there too (same version)"
            )
        elif req[1] != version:
            env.problems.append(f"{where}: {written!r} disagrees with requirements.txt {req[0]!r}")

    python_specs: list[str] = []
    has_pip = False
    pip_lists = []
    for dep in data["dependencies"]:
        if isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list):
            pip_lists.append(dep["pip"])
            continue
        if not isinstance(dep, str):
            env.problems.append(f"{where}: unexpected dependency entry {dep!r}")
            continue
        m = CONDA_SPEC_RE.match(dep.strip())
        if not m:
            env.problems.append(f"{where}: cannot read conda dependency {dep!r}")
            continue
        name = m["name"].lower()
        if name == "python":
            python_specs.append(dep)
            continue
        if name == "pip":
            has_pip = True
            continue
        if not m["version"]:
            env.problems.append(f"{where}: conda dependency {dep!r} is not pinned to a version")
            continue
        add(m["name"], dep, m["version"])
    if len(python_specs) != 1 or not re.fullmatch(
        rf"python\s*==?\s*{re.escape(PYTHON_VERSION)}(\.\*|\.\d+)?", python_specs[0].strip()
    ):
        env.problems.append(
            f"{where}: expected one 'python={PYTHON_VERSION}' dependency, found {python_specs}"
        )
    if pip_lists and not has_pip:
        env.problems.append(f"{where}: has a 'pip:' section but does not list 'pip' itself")
    for entry in (e for lst in pip_lists for e in lst):
        m = PIN_RE.match(str(entry).strip())
        if not m:
            env.problems.append(f"{where}: pip entry {entry!r} is not pinned with '=='")
            continue
        add(m["name"], str(entry).strip(), m["version"])
    return env


def _installed_distribution(name: str) -> importlib.metadata.Distribution | None:
    key = normalise(name)
    candidates = {key} | {k for k, v in EQUIVALENT_DISTS.items() if v == key}
    for candidate in sorted(candidates):
        for spelling in (candidate, candidate.replace("-", "_")):
            try:
                return importlib.metadata.distribution(spelling)
            except importlib.metadata.PackageNotFoundError:
                pass
    return None


REQ_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


def missing_pinned_dependencies(env: Env, requirements: dict[str, tuple[str, str]]) -> list[str]:
    """requirements.txt packages that the env's pins depend on (transitively, per the venv's
    metadata; extras' dependencies ignored) but that the env does not pin itself, so pip would
    install some other version of them."""
    problems = []
    for key, (written, _) in env.pins.items():
        todo, seen = [key], {key}
        while todo:
            dist = _installed_distribution(todo.pop())
            if dist is None:  # not installed here (platform-specific); nothing to inspect
                continue
            for req in dist.requires or []:
                name_part, _, marker = req.partition(";")
                if "extra" in marker:
                    continue
                m = REQ_NAME_RE.match(name_part)
                dep = normalise(m[1]) if m else None
                if not dep or dep in seen:
                    continue
                seen.add(dep)
                todo.append(dep)
                if dep in requirements and dep not in env.pins:
                    problems.append(
                        f"{rel(env.path)}: {written!r} depends on {dep} (via {dist.name}), which "
                        f"requirements.txt pins ({requirements[dep][0]!r}) but the env does not; "
                        "add the pin so pip installs that version"
                    )
    return problems


def missing_imports(rule_name: str, env: Env, script: Path, local_root: Path | None = None) -> list[str]:
    """Problems: third-party packages imported by ``script`` (or its local modules) that
    ``env`` does not list."""
    imports, problems = collect_third_party_imports(script, local_root)
    problems = [f"rule {rule_name}, {rel(script)}: {p}" for p in problems]
    for top, sites in sorted(imports.items()):
        dists = distributions_for_import(top)
        where = "; ".join(str(s) for s in sites)
        if not dists:
            problems.append(
                f"rule {rule_name}: '{top}' imported at {where} is not installed in the test venv, "
                "so its distribution is unknown; add it to requirements.txt (or IMPORT_TO_DIST)"
            )
        elif not dists & env.pins.keys():
            problems.append(
                f"rule {rule_name}: env {rel(env.path)} lacks {' or '.join(sorted(dists))} "
                f"(import '{top}' at {where}, from script {rel(script)})"
            )
        for dist in sorted(dists):
            for dep, why in IMPLICIT_RUNTIME_DEPS.get(dist, {}).items():
                if normalise(dep) not in env.pins:
                    problems.append(
                        f"rule {rule_name}: env {rel(env.path)} lacks {dep}: {why} "
                        f"(import '{top}' at {where}, from script {rel(script)})"
                    )
    return problems


# --------------------------------------------------------------------------------------------
# The real workflow
# --------------------------------------------------------------------------------------------

REAL_RULES, REAL_RULE_FILE_ERRORS = load_rules(ROOT)
ENV_FILES = sorted(ENVS_DIR.glob("*.yaml")) + sorted(ENVS_DIR.glob("*.yml"))


@functools.cache
def requirements() -> dict[str, tuple[str, str]]:
    return parse_requirements(REQUIREMENTS)[0]


def _rule_params():
    if not REAL_RULES:  # fail, rather than collecting nothing (which pytest shows as a skip)
        return [pytest.param(None, id="no-rules")]
    return [pytest.param(r, id=r.name) for r in REAL_RULES]


def _env_params():
    if not ENV_FILES:
        return [pytest.param(None, id="no-envs")]
    return [pytest.param(p, id=p.name) for p in ENV_FILES]


def test_rules_found():
    assert not REAL_RULE_FILE_ERRORS, f"cannot read rule files: {REAL_RULE_FILE_ERRORS}"
    assert REAL_RULES, f"no rules found in {RULE_FILES_GLOB} or {', '.join(EXTRA_SNAKEFILES)}"


def test_requirements_are_pins():
    pins, problems = parse_requirements(REQUIREMENTS)
    assert not problems, "\n".join(problems)
    assert pins, "requirements.txt pins nothing"


@pytest.mark.parametrize("rule", _rule_params())
def test_rule_has_conda_env(rule):
    assert rule is not None, "no rules found"
    _, problems = check_rule_env(rule)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("rule", _rule_params())
def test_rule_env_lists_script_imports(rule):
    assert rule is not None, "no rules found"
    if not ACTION_DIRECTIVES & rule.directives.keys():
        return  # an aggregation target such as ``rule all``: nothing runs, nothing is imported
    env_path, _ = check_rule_env(rule)
    if env_path is None:
        pytest.fail(f"rule {rule.name}: no usable conda env (see test_rule_has_conda_env)")
    script, problems = check_rule_script(rule)
    assert not problems, "\n".join(problems)
    if script is None:
        return  # shell/notebook rule: only needs its env, checked above
    env = parse_env(env_path, requirements())
    problems = missing_imports(rule.name, env, script)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env_path", _env_params())
def test_env_pins_match_requirements(env_path):
    assert env_path is not None, f"no env files in {rel(ENVS_DIR)}/"
    env = parse_env(env_path, requirements())
    assert not env.problems, "\n".join(env.problems)
    assert env.pins, f"{rel(env_path)} pins no packages"


@pytest.mark.parametrize("env_path", _env_params())
def test_env_pins_dependencies_from_requirements(env_path):
    assert env_path is not None, f"no env files in {rel(ENVS_DIR)}/"
    env = parse_env(env_path, requirements())
    problems = missing_pinned_dependencies(env, requirements())
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------------------------
# Unit tests of the checkers themselves (they must be able to fail)
# --------------------------------------------------------------------------------------------

FAKE_REQUIREMENTS = {
    normalise(n): (f"{n}=={v}", v)
    for n, v in [
        ("tensorflow-cpu", "2.21.0"),
        ("numpy", "2.4.6"),
        ("pandas", "3.1.1"),
        ("pyfaidx", "0.9.2.2"),
        ("pyyaml", "6.0.3"),
        ("scikit-learn", "1.9.1"),
        ("scipy", "1.17.1"),
    ]
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def fake_project(tmp_path):
    """A tiny scripts/ folder with a local package ``biodl`` and an env file."""
    scripts = tmp_path / "scripts"
    write(scripts / "biodl" / "__init__.py", '"""Fake."""\nimport os\n')
    write(scripts / "biodl" / "io.py", "import numpy as np\nfrom biodl.fasta import read\n")
    write(
        scripts / "biodl" / "fasta.py",
        """\
        from __future__ import annotations
        import json
        from typing import TYPE_CHECKING
        import pyfaidx
        from . import util
        if TYPE_CHECKING:
            import pandas  # not needed at runtime
        def read():
            import yaml  # lazily imported: still needed
        """,
    )
    write(scripts / "biodl" / "util.py", "import sklearn.metrics\n")
    write(
        scripts / "step.py",
        """\
        import sys
        from biodl import io
        from snakemake.script import snakemake
        """,
    )
    env = write(
        tmp_path / "envs" / "step.yaml",
        """\
        channels: [conda-forge, nodefaults]
        dependencies:
          - python=3.11
          - pip
          - pip:
              - numpy==2.4.6
              - pyfaidx==0.9.2.2
        """,
    )
    return scripts, env


def test_collector_finds_transitive_imports(fake_project):
    scripts, _ = fake_project
    found, problems = collect_third_party_imports(scripts / "step.py")
    assert not problems
    # numpy via biodl.io, pyfaidx via biodl.io → biodl.fasta, sklearn via a relative import,
    # yaml from a function body, snakemake from the script; not stdlib, biodl or TYPE_CHECKING.
    assert set(found) == {"numpy", "pyfaidx", "sklearn", "yaml", "snakemake"}
    assert [s.file.name for s in found["pyfaidx"]] == ["fasta.py"]
    assert found["sklearn"][0].module == "sklearn.metrics"


def test_missing_import_is_reported_with_rule_env_and_module(fake_project):
    scripts, env_path = fake_project
    env = parse_env(env_path, FAKE_REQUIREMENTS)
    problems = missing_imports("step", env, scripts / "step.py")
    text = "\n".join(problems)
    assert len(problems) == 3, text  # sklearn, yaml, snakemake missing; numpy, pyfaidx listed
    assert "rule step: env" in text and "step.yaml lacks scikit-learn" in text
    assert "biodl/util.py:1 ('sklearn.metrics')" in text
    assert "lacks pyyaml" in text and "fasta.py:9 ('yaml')" in text
    assert "lacks snakemake" in text and "from script" in text and "step.py" in text


def test_env_listing_everything_passes(fake_project, tmp_path):
    scripts, _ = fake_project
    env_path = write(
        tmp_path / "envs" / "full.yaml",
        """\
        channels: [conda-forge]
        dependencies:
          - python=3.11
          - pip
          - pip:
              - numpy==2.4.6
              - pyfaidx==0.9.2.2
              - scikit-learn==1.9.1
              - PyYAML==6.0.3
              - snakemake==9.27.1
        """,
    )
    reqs = {**FAKE_REQUIREMENTS, "snakemake": ("snakemake==9.27.1", "9.27.1")}
    env = parse_env(env_path, reqs)
    assert not env.problems
    assert missing_imports("step", env, scripts / "step.py") == []


def test_missing_local_module_is_a_problem(tmp_path):
    scripts = tmp_path / "scripts"
    write(scripts / "biodl" / "__init__.py", "")
    write(scripts / "s.py", "from biodl.data.dna.encode import one_hot\n")
    _, problems = collect_third_party_imports(scripts / "s.py")
    assert len(problems) == 1 and "'biodl.data.dna.encode'" in problems[0] and "s.py:1" in problems[0]


def test_tensorflow_builds_are_one_package(tmp_path):
    script = write(tmp_path / "scripts" / "t.py", "import tensorflow as tf\nimport keras\n")
    env_path = write(
        tmp_path / "envs" / "t.yaml",
        """\
        channels: [conda-forge, nodefaults]
        dependencies: [python=3.11, pip, {pip: ["tensorflow[and-cuda]==2.21.0", keras==3.15.1]}]
        """,
    )
    reqs = {**FAKE_REQUIREMENTS, "keras": ("keras==3.15.1", "3.15.1")}
    env = parse_env(env_path, reqs)
    assert not env.problems  # tensorflow[and-cuda]==2.21.0 agrees with tensorflow-cpu==2.21.0
    assert missing_imports("t", env, script) == []
    keras_only = write(
        tmp_path / "envs" / "k.yaml",
        "channels: [conda-forge]\ndependencies: [python=3.11, pip, {pip: [keras==3.15.1]}]\n",
    )
    keras_script = write(tmp_path / "scripts" / "k.py", "import keras\n")
    (problem,) = missing_imports("k", parse_env(keras_only, reqs), keras_script)
    assert "k.yaml lacks tensorflow: keras imports its backend" in problem, problem
    wrong = write(
        tmp_path / "envs" / "w.yaml",
        "dependencies: [python=3.11, pip, {pip: [tensorflow==2.20.0, keras]}]\nchannels: [conda-forge]\n",
    )
    problems = "\n".join(parse_env(wrong, reqs).problems)
    assert "'tensorflow==2.20.0' disagrees with requirements.txt 'tensorflow-cpu==2.21.0'" in problems
    assert "'keras' is not pinned with '=='" in problems


def test_env_form_problems_are_reported(tmp_path):
    env_path = write(
        tmp_path / "envs" / "bad.yaml",
        """\
        channels: [defaults]
        dependencies:
          - python=3.12
          - numpy
          - pip:
              - pandas>=3
              - tqdm==4.70.1
        """,
    )
    problems = "\n".join(parse_env(env_path, FAKE_REQUIREMENTS).problems)
    assert "channels are ['defaults']" in problems
    assert "expected one 'python=3.11'" in problems
    assert "'numpy' is not pinned" in problems
    assert "does not list 'pip' itself" in problems
    assert "'pandas>=3' is not pinned with '=='" in problems
    assert "'tqdm==4.70.1' is not in requirements.txt" in problems


def test_unpinned_dependency_from_requirements_is_reported(tmp_path):
    # scikit-learn depends on scipy (per the venv's metadata); requirements.txt pins scipy.
    env_path = write(
        tmp_path / "e.yaml",
        "channels: [conda-forge]\n"
        "dependencies: [python=3.11, pip, {pip: [scikit-learn==1.9.1, numpy==2.4.6]}]\n",
    )
    env = parse_env(env_path, FAKE_REQUIREMENTS)
    assert not env.problems
    problems = missing_pinned_dependencies(env, FAKE_REQUIREMENTS)
    assert len(problems) == 1 and "depends on scipy" in problems[0], problems


def test_smk_parser(tmp_path):
    smk = write(
        tmp_path / "workflow" / "rules" / "x.smk",
        '''\
        rule all:
            input:
                "results/done.txt",


        rule train:  # a comment
            input:
                data="results/data.npz",
            output:
                model="results/model.keras",
            params:
                f=lambda w: w.x,
            conda:
                "../../envs/train.yaml"
            script:
                "../../scripts/train.py"


        if config.get("extra"):

            rule extra:
                output: "x"
                conda: "../../envs/other.yaml"  # same line, with a comment
                shell:
                    """
                    echo hi
                    """

        rule dynamic:
            output:
                "y",
            conda:
                config["env"]
            script:
                "../../scripts/y.py"

        rule nothing:
            output:
                "z",
            shell:
                "touch {output}"

        rule inline:
            output:
                "w",
            run:
                conda = 1
                script = "not a directive"

        use rule train as train_again with:
            output:
                model="results/model2.keras",
        ''',
    )
    rules = parse_smk(smk)
    resolve_use_rules(rules)
    by_name = {r.name: r for r in rules}
    assert list(by_name) == ["all", "train", "extra", "dynamic", "nothing", "inline", "train_again"]
    envs = tmp_path / "envs"
    train = by_name["train"]
    assert train.directives["conda"].path == (envs / "train.yaml").resolve()
    assert train.directives["script"].path == (tmp_path / "scripts" / "train.py").resolve()
    assert set(train.directives) == {"input", "output", "params", "conda", "script"}
    assert by_name["extra"].directives["conda"].path == (envs / "other.yaml").resolve()
    assert by_name["train_again"].directives["conda"].path == (envs / "train.yaml").resolve()
    assert set(by_name["inline"].directives) == {"output", "run"}

    write(envs / "train.yaml", "dependencies: []\n")
    assert check_rule_env(by_name["all"]) == (None, [])
    assert check_rule_env(train) == ((envs / "train.yaml").resolve(), [])
    assert check_rule_env(by_name["train_again"])[1] == []
    for name, expected in [
        ("extra", "conda env '../../envs/other.yaml' (resolved to"),
        ("dynamic", "'conda: config[\"env\"]' is not a string literal"),
        ("nothing", "rule nothing ("),
        ("inline", "uses 'run:'"),
    ]:
        _, problems = check_rule_env(by_name[name])
        assert problems and expected in problems[0], (name, problems)
        assert f"rule {name}" in problems[0]
    assert "has no 'conda:' directive" in check_rule_env(by_name["nothing"])[1][0]
    assert check_rule_script(by_name["nothing"]) == (None, [])
    assert "is not a string literal" not in str(check_rule_script(by_name["dynamic"]))
    assert "'../../scripts/y.py' (resolved to" in check_rule_script(by_name["dynamic"])[1][0]
    write(tmp_path / "scripts" / "train.py", "import numpy\n")
    assert check_rule_script(train) == ((tmp_path / "scripts" / "train.py").resolve(), [])


def test_load_rules_finds_rule_files(tmp_path):
    assert load_rules(tmp_path) == ([], {})  # the real test_rules_found fails on this
    write(tmp_path / "workflow" / "rules" / "a.smk", "rule a:\n    shell: 'true'\n")
    write(tmp_path / "workflow" / "Snakefile", "include: 'rules/a.smk'\nrule all:\n    input: []\n")
    rules, errors = load_rules(tmp_path)
    assert [r.name for r in rules] == ["a", "all"] and errors == {}


def test_end_to_end_on_a_fake_workflow(tmp_path):
    """Rule file → env file and script, all resolved relative to the .smk, as in the repo."""
    write(
        tmp_path / "workflow" / "rules" / "prep.smk",
        """\
        rule prepare:
            output:
                "results/x.npz",
            conda:
                "../../envs/prep.yaml"
            script:
                "../../scripts/prep.py"
        """,
    )
    write(tmp_path / "scripts" / "biodl" / "__init__.py", "")
    write(tmp_path / "scripts" / "biodl" / "splits.py", "from sklearn.model_selection import KFold\n")
    write(tmp_path / "scripts" / "prep.py", "import numpy\nimport biodl.splits\n")
    write(
        tmp_path / "envs" / "prep.yaml",
        "channels: [conda-forge, nodefaults]\ndependencies: [python=3.11, pip, {pip: [numpy==2.4.6]}]\n",
    )
    (rule,), errors = load_rules(tmp_path)
    assert errors == {}
    env_path, problems = check_rule_env(rule)
    assert problems == [] and env_path == (tmp_path / "envs" / "prep.yaml").resolve()
    env = parse_env(env_path, FAKE_REQUIREMENTS)
    assert env.problems == []
    script = rule.directives["script"].path
    assert script == (tmp_path / "scripts" / "prep.py").resolve()
    (problem,) = missing_imports(rule.name, env, script)
    assert "rule prepare: env" in problem and "prep.yaml lacks scikit-learn" in problem
    assert "biodl/splits.py:1 ('sklearn.model_selection')" in problem and "prep.py" in problem

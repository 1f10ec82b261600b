"""Safety audits of the workflow and the library, by reading their source.

- No ``shell:`` directive (or ``shell()`` call) in the Snakefile or ``workflow/rules/*.smk``
  interpolates a configuration string: neither ``{config...}`` nor a ``{params.x}`` whose
  value comes from the config. Config strings reach scripts as Python values, never a shell.
- Every file the package writes goes to a temporary name from ``biodl.core.files.atomic_path`` /
  ``atomic_dir`` (renamed onto the output when complete).
- Every Keras model load passes ``safe_mode=True``; every ``numpy.load`` passes
  ``allow_pickle=False``; every ``skops.io.load`` passes ``trusted=`` a list of type names
  (never ``True``); nothing imports ``pickle``, ``dill``, ``cloudpickle`` or ``joblib``, and
  YAML is read with ``yaml.safe_load`` only.
Each audit is also run on a small bad example, so that it is known to catch what it looks for.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
PYTHON_FILES = sorted((ROOT / "scripts").rglob("*.py"))
UNSAFE_MODULES = {"pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}

# --- shell directives -------------------------------------------------------------------------

RULE_START = re.compile(r"^(?:rule|checkpoint)\s+(\w+)\s*:", re.MULTILINE)
DIRECTIVE = re.compile(r"^\s{4}(\w+):", re.MULTILINE)


def rule_bodies(text: str) -> dict[str, str]:
    """Each rule's text, from its ``rule name:`` line to the next rule (or the end)."""
    starts = list(RULE_START.finditer(text))
    return {
        m.group(1): text[m.end() : (starts[i + 1].start() if i + 1 < len(starts) else len(text))]
        for i, m in enumerate(starts)
    }


def directive(body: str, name: str) -> str | None:
    """The text of one directive of a rule body (up to the next directive), or None."""
    found = list(DIRECTIVE.finditer(body))
    for i, match in enumerate(found):
        if match.group(1) == name:
            return body[match.end() : (found[i + 1].start() if i + 1 < len(found) else len(body))]
    return None


def shell_problems(text: str) -> list[str]:
    """Rules whose shell command takes a config string, directly or through params."""
    problems = []
    for rule, body in rule_bodies(text).items():
        command = directive(body, "shell") or ""
        params = directive(body, "params") or ""
        calls = " ".join(re.findall(r"\bshell\((.*?)\)", directive(body, "run") or "", re.DOTALL))
        for source in (command, calls):
            if re.search(r"\{config\b", source):
                problems.append(f"rule {rule}: the shell command formats the config")
            for name in re.findall(r"\{params\.(\w+)", source):
                value = re.search(rf"^\s*{name}\s*=(.*)$", params, re.MULTILINE)
                if value and "config" in value.group(1):
                    problems.append(
                        f"rule {rule}: the shell command formats params.{name}, taken from the config"
                    )
    return problems


def test_no_shell_command_interpolates_a_config_string() -> None:
    assert len(RULE_FILES) >= 4
    problems = [
        f"{path.name}: {problem}" for path in RULE_FILES for problem in shell_problems(path.read_text())
    ]
    assert problems == []


def test_the_shell_audit_catches_config_strings() -> None:
    bad = """
rule direct:
    output:
        "a.txt",
    shell:
        "echo {config[name]} > {output}"


rule through_params:
    output:
        "b.txt",
    params:
        label=lambda wildcards: config["datasets"][wildcards.dataset]["description"],
    shell:
        "echo {params.label} > {output}"


rule fine:
    output:
        "c.txt",
    params:
        n=3,
    shell:
        "seq {params.n} > {output}"
"""
    assert shell_problems(bad) == [
        "rule direct: the shell command formats the config",
        "rule through_params: the shell command formats params.label, taken from the config",
    ]


# --- loading files ------------------------------------------------------------------------------


def _name(node: ast.expr) -> str:
    """Dotted name of a called function (``keras.models.load_model``), or ''."""
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is(value: ast.expr | None, constant: object) -> bool:
    return isinstance(value, ast.Constant) and value.value is constant


def load_problems(source: str, filename: str) -> list[str]:
    """Unsafe loads and imports in one Python file, as 'file:line: problem'."""
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in UNSAFE_MODULES:
                    problems.append(f"{where}: imports {module}")
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        last = name.rsplit(".", 1)[-1]
        if last == "load_model" and "keras" in name and not _is(_keyword(node, "safe_mode"), True):
            problems.append(f"{where}: {name} without safe_mode=True")
        if name in ("np.load", "numpy.load") and not _is(_keyword(node, "allow_pickle"), False):
            problems.append(f"{where}: {name} without allow_pickle=False")
        if name in ("skops.io.load", "sio.load", "skops.io.loads", "sio.loads"):
            trusted = _keyword(node, "trusted")
            if trusted is None or _is(trusted, True):
                problems.append(f"{where}: {name} without a list of trusted types")
        if name == "yaml.load" or name == "yaml.unsafe_load" or name == "yaml.full_load":
            problems.append(f"{where}: {name} (use yaml.safe_load)")
        if name in ("pd.read_pickle", "pandas.read_pickle", "torch.load"):
            problems.append(f"{where}: {name} unpickles")
    return problems


def test_the_package_loads_models_and_arrays_safely() -> None:
    assert PYTHON_FILES
    problems = [
        p for path in PYTHON_FILES for p in load_problems(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert problems == []


def test_keras_loads_go_through_safe_mode() -> None:
    """There are model loads to audit (the audit is not vacuous)."""
    sources = "\n".join(path.read_text() for path in PYTHON_FILES)
    assert re.search(r"load_model\([^)]*safe_mode=True", sources)
    assert re.search(r"np\.load\([^)]*allow_pickle=False", sources)


@pytest.mark.parametrize(
    "code, problem",
    [
        (
            "import keras\nkeras.models.load_model('m.keras')",
            "keras.models.load_model without safe_mode=True",
        ),
        (
            "import keras\nkeras.saving.load_model('m.keras', safe_mode=False)",
            "keras.saving.load_model without safe_mode=True",
        ),
        ("import numpy as np\nnp.load('a.npy')", "np.load without allow_pickle=False"),
        ("import numpy as np\nnp.load('a.npy', allow_pickle=True)", "np.load without allow_pickle=False"),
        (
            "import skops.io\nskops.io.load('m.skops', trusted=True)",
            "skops.io.load without a list of trusted types",
        ),
        ("import pickle", "imports pickle"),
        ("from joblib import load", "imports joblib"),
        ("import yaml\nyaml.load(open('c.yaml'))", "yaml.load (use yaml.safe_load)"),
    ],
)
def test_the_load_audit_catches_unsafe_loads(code: str, problem: str) -> None:
    assert load_problems(code, "bad.py") == [f"bad.py:{code.count(chr(10)) + 1}: {problem}"]


def test_the_load_audit_accepts_safe_loads() -> None:
    code = (
        "import keras, numpy as np, skops.io, yaml\n"
        "keras.models.load_model('m.keras', safe_mode=True, compile=False)\n"
        "np.load('a.npy', mmap_mode='r', allow_pickle=False)\n"
        "skops.io.load('m.skops', trusted=['sklearn.linear_model.LogisticRegression'])\n"
        "yaml.safe_load('a: 1')\n"
    )
    assert load_problems(code, "good.py") == []


# --- atomic writes ------------------------------------------------------------------------------

WRITERS = {"to_csv": 0, "savefig": 0, "to_json": 0, "to_parquet": 0, "dump": 1}  # method → path argument
RECEIVER_WRITERS = ("write_text", "write_bytes")  # path.write_text(...)
ATOMIC = ("atomic_path", "atomic_dir")


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def write_problems(source: str, filename: str) -> list[str]:
    """File writes that do not go to a temporary name from ``biodl.core.files.atomic_path`` / ``atomic_dir``.

    A write is atomic when its path expression uses a name bound by ``with atomic_path(...) as
    name`` (or ``atomic_dir``); ``open`` for writing is checked the same way, and writes into
    the handle it returns are then covered.
    """
    tree = ast.parse(source, filename)
    temporary = {
        item.optional_vars.id
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.context_expr, ast.Call)
        and _name(item.context_expr.func).rsplit(".", 1)[-1] in ATOMIC
        and isinstance(item.optional_vars, ast.Name)
    }
    # Handles opened on a temporary name are temporary too (``with open(tmp, "w") as handle``).
    temporary |= {
        item.optional_vars.id
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.context_expr, ast.Call)
        and _name(item.context_expr.func) == "open"
        and item.context_expr.args
        and _names(item.context_expr.args[0]) & temporary
        and isinstance(item.optional_vars, ast.Name)
    }
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        last = name.rsplit(".", 1)[-1]
        target: ast.AST | None = None
        if (
            name == "open"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and any(m in str(node.args[1].value) for m in "wax")
        ):
            target = node.args[0]
        elif last in RECEIVER_WRITERS and isinstance(node.func, ast.Attribute):
            target = node.func.value
        elif (
            last in WRITERS and len(node.args) > WRITERS[last] and name not in ("json.dump", "yaml.safe_dump")
        ):
            target = node.args[WRITERS[last]]
        elif (
            name in ("np.save", "np.savez", "np.savez_compressed", "numpy.save")
            and node.args
            and not isinstance(node.args[0], ast.Name | ast.Attribute)
        ):
            target = node.args[0]
        if target is not None and not _names(target) & temporary:
            problems.append(f"{filename}:{node.lineno}: {name} writes {ast.unparse(target)} in place")
    return problems


def test_every_output_is_written_under_a_temporary_name() -> None:
    library = [p for p in PYTHON_FILES if p.name != "io.py"]  # io.py defines the atomic helpers
    problems = [p for path in library for p in write_problems(path.read_text(), str(path.relative_to(ROOT)))]
    assert problems == []
    # Not vacuous: without the atomic helpers, the audit sees the package's writes.
    sites = [
        p
        for path in library
        for p in write_problems(path.read_text().replace("atomic_", "plain_"), path.name)
    ]
    assert len(sites) >= 5, sites


def test_the_write_audit_catches_writes_in_place() -> None:
    code = (
        "from biodl.core.files import atomic_path\n"
        "def good(frame, path, fig):\n"
        "    with atomic_path(path) as tmp:\n"
        "        frame.to_csv(tmp, sep='\\t')\n"
        "    with atomic_path(path) as tmp:\n"
        "        with open(tmp, 'wb') as handle:\n"
        "            handle.write(b'x')\n"
        "            frame.to_csv(handle)\n"
        "def bad(frame, path, fig):\n"
        "    frame.to_csv(path)\n"
        "    fig.savefig(path / 'a.png')\n"
        "    path.write_text('x')\n"
        "    open(path, 'w')\n"
        "    with open(path, 'w') as out:\n"
        "        frame.to_csv(out)\n"
    )
    assert write_problems(code, "w.py") == [
        "w.py:10: frame.to_csv writes path in place",
        "w.py:11: fig.savefig writes path / 'a.png' in place",
        "w.py:12: path.write_text writes path in place",
        "w.py:13: open writes path in place",
        "w.py:14: open writes path in place",
        "w.py:15: frame.to_csv writes out in place",
    ]

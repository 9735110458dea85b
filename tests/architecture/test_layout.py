"""The house rules of docs/development.md that a reader could break without noticing: where row
locks and prebuilt statements may live, how large a module may grow, and how public services
and selectors are called. (The layers themselves are checked by ``lint-imports`` in
``make test``, from ``.importlinter``.)"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("creditfactory", "products", "risk", "servicing", "collection", "workflows")
MAX_MODULE_LINES = 600


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _code_lines(path: Path):
    """(number, line) of the lines that are code, not comments or docstrings."""
    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docstrings.update(range(node.lineno, node.end_lineno + 1))
    for number, line in enumerate(source.splitlines(), start=1):
        if number not in docstrings and not line.lstrip().startswith("#"):
            yield number, line.split(" #")[0]


def _offences(pattern: str, allowed) -> list[str]:
    regex = re.compile(pattern)
    return [f"{_rel(path)}:{number}: {line.strip()}" for path in _modules() if not allowed(path)
            for number, line in _code_lines(path) if regex.search(line)]


def test_row_locks_are_taken_only_in_each_apps_locks_module():
    offences = _offences(r"select_for_update|nowait=True|skip_locked", lambda path: path.name == "locks.py" or _rel(path) == "creditfactory/core/rows.py")
    assert offences == [], "take row locks through the app's locks.py (docs/development.md):\n" + "\n".join(offences)


# The two models whose save() is a prebuilt statement: viewflow's task rows and the applicant,
# written for every application (docs/benchmarks.md). They only use the mixin.
SAVE_MIXIN_MODELS = {"workflows/models/tasks.py", "risk/models/applicants.py"}


def _may_prebuild(path: Path) -> bool:
    # ``<app>/fastpath.py``, or a module of ``<app>/fastpath/`` once it outgrew one module (HOUSE_STYLE);
    # the mechanism: core.rows and core.prepared (statements prepared once per connection)
    return path.name == "fastpath.py" or path.parent.name == "fastpath" or _rel(path) in (
        "creditfactory/core/rows.py", "creditfactory/core/prepared.py")


def test_prebuilt_statements_and_hand_written_sql_live_only_in_fastpath_modules():
    offences = _offences(r"\bcursor\(|cursor\.execute\(|\.raw\(|RawSQL\(|\.extra\(|RowReader\(|RowWriter\(|save_fields\(",
                         _may_prebuild)
    imports = _offences(r"creditfactory\.core(\.rows|\.prepared| import rows| import prepared)",
                        lambda path: _may_prebuild(path) or _rel(path) in SAVE_MIXIN_MODELS)
    mixin = [f"{name}: imports more of core.rows than the save mixin" for name in SAVE_MIXIN_MODELS
             if "from creditfactory.core.rows import RowWriterSaveMixin\n" not in (ROOT / name).read_text()]
    assert offences + imports + mixin == [], (
        "new code uses the ORM; prebuilt statements only in <app>/fastpath.py with an ORM-equivalence "
        "test, where a benchmark showed the need (docs/development.md):\n" + "\n".join(offences + imports + mixin))


def test_no_module_is_over_600_lines():
    long = [f"{_rel(path)}: {count} lines" for path in _modules()
            if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES]
    assert long == [], "split these into a package (HOUSE_STYLE):\n" + "\n".join(long)


# Public functions whose two positional parameters are a subject and the user it is scoped to,
# or a value and its kind — read as one phrase at every call site.
POSITIONAL_EXEMPT = {
    "risk/services/lists.py:normalise_list_value",
    "workflows/selectors/applications.py:task_list_scope",
}


def _is_service_or_selector(path: Path) -> bool:
    return any(part in ("services", "selectors", "services.py", "selectors.py") for part in path.parts)


def test_public_services_and_selectors_take_keyword_arguments_beyond_their_subject():
    offences = []
    for path in filter(_is_service_or_selector, _modules()):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
                continue
            positional = [arg.arg for arg in node.args.posonlyargs + node.args.args]
            if (len(positional) > 1 or node.args.vararg) and f"{_rel(path)}:{node.name}" not in POSITIONAL_EXEMPT:
                offences.append(f"{_rel(path)}:{node.lineno} {node.name}({', '.join(positional)})")
    assert offences == [], "make these keyword-only (def f(subject, *, …)):\n" + "\n".join(offences)

"""The house's structure, read from the code's own imports: dependencies point down."""

import ast
from pathlib import Path

import pytest

import consult
from consult.core import permissions
from consult.core.enums import UserRole

PACKAGE = Path(consult.__file__).resolve().parent
#: the app's own top-level modules that are no feature (the factory, CLI and demo are above
#: every feature; config and extensions below them)
NOT_FEATURES = {"core", "config", "extensions", "models", "cli", "demo", "__init__"}
FEATURES = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
FEATURES = [f for f in FEATURES if f not in NOT_FEATURES]


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports (absolute names; ``from consult import x`` as
    ``consult.x``), wherever in the file the import stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = here[:-1] if path.name != "__init__.py" else here
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return found


def _top(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "consult" and len(parts) > 1 else None


def _modules(folder: Path):
    yield from sorted(folder.rglob("*.py"))


def test_there_are_features_to_check():
    assert {"auth", "communities", "proposals", "negotiation"} <= set(FEATURES)


def test_core_imports_no_feature():
    offending = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in _modules(PACKAGE / "core")
        for name in _imports(path)
        if _top(name) in FEATURES or _top(name) in {"cli", "demo", "models"}
    ]
    assert offending == []


@pytest.mark.parametrize("feature", FEATURES)
def test_no_feature_imports_the_app_factory_or_the_cli(feature):
    offending = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in _modules(PACKAGE / feature)
        for name in _imports(path)
        if name in {"consult", "consult.create_app", "consult.cli", "consult.demo"}
        or _top(name) in {"cli", "demo"}
    ]
    assert offending == []


def test_no_import_hides_halfway_down_a_file():
    offending = [
        str(path.relative_to(PACKAGE.parent))
        for path in _modules(PACKAGE)
        if "noqa: E402" in path.read_text(encoding="utf-8")
    ]
    assert offending == []


def test_every_feature_policy_is_registered_by_the_factory(app):
    """Each feature with a ``policy.py`` is imported by create_app, so its rules exist."""
    with_policy = {f for f in FEATURES if (PACKAGE / f / "policy.py").exists()}
    assert with_policy <= set(consult.POLICIES)
    kinds = {kind.__module__.split(".")[1] for kind, _action in permissions.registered() if kind}
    assert {"auth", "communities", "proposals", "negotiation", "problems"} <= kinds


def test_action_names_are_typed_constants_equal_to_their_strings(app):
    from consult.proposals.policy import ProposalAction

    assert ProposalAction.VIEW == "view"
    assert isinstance(ProposalAction.VIEW, str)


def test_an_unregistered_action_is_refused(app, make):
    user = make.user(role=UserRole.ADMIN)
    assert permissions.can(user, "no_such_action") is False
    assert permissions.can(user, "no_such_action", user) is False


def _feature_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {f: set() for f in FEATURES}
    for feature in FEATURES:
        for path in _modules(PACKAGE / feature):
            for name in _imports(path):
                other = _top(name)
                if other in FEATURES and other != feature:
                    graph[feature].add(other)
    return graph


def test_features_import_each_other_without_a_cycle():
    """Dependencies point down: when two features need each other, the shared part is a
    feature of its own (votes), or the page that shows both is assembled above them."""
    graph = _feature_graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*path[path.index(nxt) :], nxt])
                return True
            if nxt not in state and visit(nxt, [*path, nxt]):
                return True
        state[node] = 2
        return False

    for feature in FEATURES:
        if feature not in state and visit(feature, [feature]):
            break
    assert cycle == []


def test_votes_know_nothing_of_the_features_that_hold_votes():
    assert not {"proposals", "negotiation", "priorities"} & _feature_graph()["votes"]


#: a module past this many lines is asking to be split by capability (STYLE.md)
MAX_MODULE_LINES = 600


def _too_long(root: Path, limit: int) -> list[str]:
    """``path: lines`` of every Python module under ``root`` longer than ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root.parent)}: {lines} lines")
    return found


def test_no_module_exceeds_600_lines():
    too_long = _too_long(PACKAGE, MAX_MODULE_LINES)
    assert not too_long, (
        f"split these modules by capability (at most {MAX_MODULE_LINES} lines): "
        + ", ".join(too_long)
    )


def test_the_line_guard_names_a_module_that_is_too_long(tmp_path):
    package = tmp_path / "pkg"
    (package / "feature").mkdir(parents=True)
    (package / "feature" / "short.py").write_text("x = 1\n" * 600)
    (package / "feature" / "long.py").write_text("x = 1\n" * 601)
    assert _too_long(package, MAX_MODULE_LINES) == [
        str(Path("pkg/feature/long.py")) + ": 601 lines"
    ]

"""docs/hooks.md documents every hook, with the signature and firstresult flag of its spec."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chelun.capabilities import spec_classes

SPEC_CLASSES = spec_classes()

HOOKS_DOC = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def spec_hooks() -> dict[str, Callable[..., object]]:
    """Every hook of every spec class, in declaration order."""
    return {
        name: func
        for spec_class in SPEC_CLASSES
        for name, func in vars(spec_class).items()
        if name.startswith("chelun_") and callable(func)
    }


class _AsWritten(str):
    """An annotation string that ``inspect`` renders as written, without quotes."""

    def __repr__(self) -> str:
        return str(self)


def rendered_signature(name: str, func: Callable[..., object]) -> str:
    """``def <name><signature>`` as ``str(inspect.signature(func))`` renders it, without ``self``
    and with the string annotations of ``from __future__ import annotations`` shown unquoted."""
    signature = inspect.signature(func)
    parameters = [
        parameter.replace(annotation=_AsWritten(parameter.annotation))
        if isinstance(parameter.annotation, str)
        else parameter
        for parameter in signature.parameters.values()
        if parameter.name != "self"
    ]
    returns = signature.return_annotation
    if isinstance(returns, str):
        returns = _AsWritten(returns)
    return f"def {name}{signature.replace(parameters=parameters, return_annotation=returns)}"


@dataclass(frozen=True)
class DocumentedHook:
    signature: str | None
    firstresult: str | None


def documented_hooks() -> list[tuple[str, DocumentedHook]]:
    """Each ``### chelun_...`` section of the doc: the first line of its first python block and
    its ``firstresult: yes|no`` line."""
    entries = []
    for section in re.split(r"^(?=#{1,3} )", HOOKS_DOC.read_text(encoding="utf-8"), flags=re.M):
        heading, _, body = section.partition("\n")
        if not heading.startswith("### chelun_"):
            continue
        block = re.search(r"^```python\n(.*?)^```", body, flags=re.M | re.S)
        flag = re.search(r"^firstresult: (yes|no)$", body, flags=re.M)
        entries.append(
            (
                heading.removeprefix("### ").strip(),
                DocumentedHook(
                    signature=block.group(1).splitlines()[0] if block else None,
                    firstresult=flag.group(1) if flag else None,
                ),
            )
        )
    return entries


HOOKS = spec_hooks()


@pytest.mark.parametrize("spec_class", SPEC_CLASSES, ids=lambda spec_class: spec_class.__name__)
def test_every_spec_class_declares_hooks(spec_class: type) -> None:
    assert any(name.startswith("chelun_") for name in vars(spec_class))


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name: str) -> None:
    assert inspect.getdoc(HOOKS[name]), f"{name} has no docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_docstring_says_whether_it_is_firstresult(name: str) -> None:
    assert "firstresult" in (inspect.getdoc(HOOKS[name]) or ""), (
        f"the docstring of {name} does not say whether it is firstresult"
    )


def test_every_hook_is_documented() -> None:
    documented = {name for name, _ in documented_hooks()}
    missing = [name for name in HOOKS if name not in documented]
    assert not missing, f"hooks without a '### <name>' section in {HOOKS_DOC.name}: {missing}"


def test_each_hook_is_documented_once() -> None:
    names = [name for name, _ in documented_hooks()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not repeated, f"hooks documented more than once: {repeated}"


@pytest.mark.parametrize("name", HOOKS)
def test_documented_signature_matches_the_spec(name: str) -> None:
    documented = dict(documented_hooks())
    if name not in documented:
        pytest.fail(f"{name} is not documented in {HOOKS_DOC.name}")
    assert documented[name].signature == rendered_signature(name, HOOKS[name])


@pytest.mark.parametrize("name", HOOKS)
def test_documented_firstresult_matches_the_spec_marker(name: str) -> None:
    documented = dict(documented_hooks())
    if name not in documented:
        pytest.fail(f"{name} is not documented in {HOOKS_DOC.name}")
    expected = "yes" if HOOKS[name].chelun_spec["firstresult"] else "no"
    assert documented[name].firstresult == expected


def test_doc_mentions_only_existing_hooks() -> None:
    mentioned = set(re.findall(r"\bchelun_\w+", HOOKS_DOC.read_text(encoding="utf-8")))
    unknown = sorted(mentioned - set(HOOKS))
    assert not unknown, f"{HOOKS_DOC.name} mentions hooks that do not exist: {unknown}"


def test_rendered_signature_drops_self_and_unquotes_annotations() -> None:
    def chelun_example(self, province: str, city: str | None = None) -> int | None:
        """An example."""

    assert (
        rendered_signature("chelun_example", chelun_example)
        == "def chelun_example(province: str, city: str | None = None) -> int | None"
    )

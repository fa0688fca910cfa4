"""Batch decision hooks of recognition: one call per batch, a decision per item, core's own for
the items a plugin left None, and the plugin that decided each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pluggy

from chelun.plugin_manager import decide_batch

T = TypeVar("T")
CORE = "chelun.recognition.defaults"


def batch_decisions(
    pm: pluggy.PluginManager,
    hook: str,
    items: Sequence[T],
    expected: type,
    fallback: Callable[[T], Any],
    /,
    **kwargs: Any,
) -> list[tuple[Any, str]]:
    """Each item's decision and the plugin that made it; core's own (``fallback``) for items
    left None. ``kwargs`` are the hook's arguments, the batch among them."""
    answers, plugin = decide_batch(pm, hook, len(items), expected, **kwargs)
    return [
        (answer, plugin) if answer is not None and plugin else (fallback(item), CORE)
        for answer, item in zip(answers, items, strict=True)
    ]

"""Every setting of the framework and of each capability is listed in docs/operators.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from chelun.capabilities import settings_classes
from chelun.logs import LogSettings
from chelun.ops.settings import OpsSettings
from chelun.plugin_manager import PluginSettings
from chelun.settings import ChelunSettings, Settings

OPERATORS_DOC = Path(__file__).resolve().parents[1] / "docs" / "operators.md"
CLASSES = [Settings, LogSettings, *settings_classes(), OpsSettings, PluginSettings]


@pytest.mark.parametrize("settings_class", CLASSES, ids=lambda c: c.__name__)
def test_every_setting_is_documented_for_operators(settings_class: type) -> None:
    assert issubclass(settings_class, ChelunSettings)
    doc = OPERATORS_DOC.read_text(encoding="utf-8")
    missing = [
        f"CHELUN_{name.upper()}"
        for name in settings_class.model_fields
        if f"`CHELUN_{name.upper()}`" not in doc
    ]
    assert not missing, f"settings missing from {OPERATORS_DOC.name}: {missing}"


def test_settings_are_read_from_a_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chelun.roster.settings import RosterSettings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHELUN_BATCH_ROWS", raising=False)
    (tmp_path / ".env").write_text("CHELUN_BATCH_ROWS=123\n", encoding="utf-8")
    assert RosterSettings().batch_rows == 123

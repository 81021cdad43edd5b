"""Settings from RETORNO_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from retorno.cli.main import app
from retorno.config import Settings


def test_verification_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path / "data"))
    for name in ("RETORNO_VERIFICATION_UPPER", "RETORNO_VERIFICATION_LOWER"):
        monkeypatch.delenv(name, raising=False)
    # Unset, the environment leaves the declared defaults as they are.
    declared, unset = Settings(), Settings.from_env(resolve=False)
    assert (unset.verification_upper_threshold, unset.verification_lower_threshold) == (
        declared.verification_upper_threshold, declared.verification_lower_threshold)
    monkeypatch.setenv("RETORNO_VERIFICATION_UPPER", "0.999")
    monkeypatch.setenv("RETORNO_VERIFICATION_LOWER", "0.1")
    settings = Settings.from_env(resolve=False)
    assert (settings.verification_upper_threshold, settings.verification_lower_threshold) == (0.999, 0.1)
    # Unresolved settings create nothing: no data directory, no secret key.
    assert not (tmp_path / "data").exists()
    assert Settings.from_env().database_url.endswith("retorno.sqlite3")
    assert (tmp_path / "data" / "secret_key").exists()


def test_the_linkage_benchmark_refuses_thresholds_out_of_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETORNO_VERIFICATION_UPPER", "0.2")
    monkeypatch.setenv("RETORNO_VERIFICATION_LOWER", "0.5")
    result = CliRunner().invoke(app, ["bench", "linkage", "--registry", "10", "--requests", "5"])
    assert result.exit_code == 2
    assert "lower" in result.output


def test_the_verification_policy_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from retorno.verification.linkage import Thresholds

    monkeypatch.setenv("RETORNO_VERIFICATION_NATIONAL_SHARE", "0.6")
    monkeypatch.setenv("RETORNO_VERIFICATION_UPPER", "0.99")
    policy = Thresholds.from_settings(Settings.from_env(resolve=False), lower=0.2)
    assert (policy.upper, policy.lower, policy.national_share) == (0.99, 0.2, 0.6)
    # The policy's own defaults are the settings' (they are declared in both places).
    declared = Settings()
    assert (Thresholds().upper, Thresholds().lower, Thresholds().national_share) == (
        declared.verification_upper_threshold, declared.verification_lower_threshold,
        declared.verification_national_share)
    with pytest.raises(ValueError, match="national share"):
        Thresholds(national_share=1.0)

""".ci/audit against a stand-in pip-audit: findings fail unless ignored with a reason, and an
audit that could not check packages fails closed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
AUDIT = ROOT / ".ci" / "audit"

VULN = {
    "id": "GHSA-aaaa-bbbb-cccc",
    "aliases": ["CVE-2099-0001"],
    "fix_versions": ["2.0.1"],
    "description": "x",
}
EDITABLE = {"name": "citeqa", "skip_reason": "distribution marked as editable"}


def fake_venv(tmp_path: Path, dependencies: list[dict]) -> Path:
    """A venv whose bin/pip-audit writes `dependencies` as its JSON report."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    script = venv / "bin" / "pip-audit"
    report = json.dumps({"dependencies": dependencies, "fixes": []})
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"out = sys.argv[sys.argv.index('--output') + 1]\n"
        f"open(out, 'w').write({report!r})\n"
        f"sys.exit(1 if 'vulns' in {report!r} else 0)\n"
    )
    script.chmod(0o755)
    return venv


def audit(
    venv: Path, ignore: str | None, *args: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Run a copy of .ci/audit whose ignore file is `ignore`."""
    ci = tmp_path / "repo" / ".ci"
    ci.mkdir(parents=True, exist_ok=True)
    (ci / "audit").write_text(AUDIT.read_text())
    if ignore is not None:
        (ci / "audit-ignore.txt").write_text(ignore)
    return subprocess.run(
        [sys.executable, str(ci / "audit"), *args],
        capture_output=True,
        text=True,
        env={"VENV": str(venv), "PATH": "/usr/bin:/bin"},
    )


def test_clean_report_passes(tmp_path):
    venv = fake_venv(tmp_path, [EDITABLE, {"name": "jinja2", "version": "3.1.6", "vulns": []}])
    result = audit(venv, None, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 packages audited, 0 not auditable, 0 findings" in result.stdout


def test_finding_fails_with_package_version_id_and_fix(tmp_path):
    venv = fake_venv(tmp_path, [{"name": "gradio", "version": "6.0.0", "vulns": [VULN]}])
    result = audit(venv, "# nothing ignored\n", tmp_path=tmp_path)
    assert result.returncode == 1
    assert "FINDING  gradio 6.0.0  GHSA-aaaa-bbbb-cccc (CVE-2099-0001)  fix: 2.0.1" in result.stdout


@pytest.mark.parametrize("listed", ["GHSA-aaaa-bbbb-cccc", "CVE-2099-0001"])
def test_ignored_by_id_or_alias_passes(tmp_path, listed):
    venv = fake_venv(tmp_path, [{"name": "gradio", "version": "6.0.0", "vulns": [VULN]}])
    result = audit(venv, f"{listed}  not reachable: we never call that route\n", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ignored  gradio 6.0.0 GHSA-aaaa-bbbb-cccc: not reachable" in result.stdout


def test_ignore_line_without_reason_is_refused(tmp_path):
    venv = fake_venv(tmp_path, [{"name": "gradio", "version": "6.0.0", "vulns": [VULN]}])
    result = audit(venv, "GHSA-aaaa-bbbb-cccc\n", tmp_path=tmp_path)
    assert result.returncode != 0 and "needs a reason" in result.stderr


def test_unauditable_packages_fail_closed(tmp_path):
    """What happens here when the advisory service cannot be reached: 'no known
    vulnerabilities' from pip-audit, every package skipped."""
    skipped = {
        "name": "torch",
        "skip_reason": "Dependency not found on PyPI and could not be audited: torch (2.13.0)",
    }
    venv = fake_venv(tmp_path, [EDITABLE, skipped])
    result = audit(venv, None, tmp_path=tmp_path)
    assert result.returncode == 3
    assert "not audited: torch" in result.stderr
    assert audit(venv, None, "--allow-unaudited", tmp_path=tmp_path).returncode == 0

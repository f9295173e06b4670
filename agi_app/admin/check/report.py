"""The findings as the admin reads them: errors, then warnings, then a one-line verdict."""

from agi_app.admin.check.findings import Finding, Severity


def render(found: list[Finding], config_dir: str) -> str:
    errors = [f for f in found if f.severity is Severity.ERROR]
    warnings = [f for f in found if f.severity is Severity.WARNING]
    lines = [str(f) for f in errors] + [str(f) for f in warnings]
    verdict = (
        f"{config_dir}: {len(errors)} error(s), {len(warnings)} warning(s)"
        if found
        else f"{config_dir}: no mistakes found"
    )
    return "\n".join([*lines, verdict])


def exit_code(found: list[Finding]) -> int:
    return 1 if any(f.severity is Severity.ERROR for f in found) else 0

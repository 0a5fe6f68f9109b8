"""The errors ``hackkit deploy`` raises, each with the fix.

HackkitError
├── ConfigError
│   ├── FrontMatterError   a Space's README front matter the Hub would refuse
│   └── BundleError        the project cannot be bundled as asked (a missing file, a bad choice)
└── DeployError            the Hub or the deployed app refused or failed
    ├── SecretFound        a key in a file that would leave the machine (never shows the value)
    ├── PaymentRequired    HTTP 402: this account cannot run that Space here
    ├── SpaceFailed        the Space reached a stage other than RUNNING (the build log comes with it)
    └── NoAnswer           the running app did not answer the canned question
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hackkit.errors import ConfigError, HackkitError

if TYPE_CHECKING:
    from hackkit.deploy.secretscan import Finding


class FrontMatterError(ConfigError):
    pass


class BundleError(ConfigError):
    pass


class DeployError(HackkitError):
    exit_code = 3


class SecretFound(DeployError):
    """Where each secret is (file, line, kind); the values are never kept here."""

    def __init__(self, findings: list[Finding]) -> None:
        lines = [f"  {finding}" for finding in findings[:20]]
        if len(findings) > 20:
            lines.append(f"  ... and {len(findings) - 20} more")
        super().__init__(
            f"Stopped before anything left this machine: {len(findings)} secret(s) found.\n" + "\n".join(lines),
            hint="move each key into the project's .env (it becomes a Space secret, never a file), delete it from "
            "the file (and from notebook outputs: Clear All Outputs), or add the file to .gitignore",
        )
        self.findings = findings


class PaymentRequired(DeployError):
    pass


class SpaceFailed(DeployError):
    def __init__(self, message: str, hint: str, log: str = "") -> None:
        super().__init__(message + (f"\n--- the Space's log (last lines) ---\n{log}" if log else ""), hint=hint)
        self.log = log


class NoAnswer(DeployError):
    pass

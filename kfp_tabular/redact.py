"""Keep credentials out of everything the command prints.

Tokens reach the command from ``--token``, ``KFP_TOKEN``, ``--token-file`` or the projected
service-account token; each is registered here as soon as it is read, and every line the
command writes (progress, results, errors, text captured from kfp) passes through
:meth:`Redactor.mask`. Masking happens at output time rather than at each call site, because
errors from lower layers (urllib3, kfp_server_api, a proxy echoing a header) can quote a token
anywhere.
"""

from __future__ import annotations

import re

MASK = "***"

# Bearer tokens in text that did not come from a known secret (e.g. a kubeconfig token echoed
# by a proxy): "Bearer <anything up to whitespace or a quote>".
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",}]+")
_TOKEN_OPTION = re.compile(r"^--?[\w-]*tok", re.IGNORECASE)


class Redactor:
    """Replaces every registered secret, and anything after ``Bearer``, by ``***``."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        """Register a secret; empty values are ignored (masking "" would mask everything)."""
        if secret and secret.strip():
            self._secrets.add(secret)
            self._secrets.add(secret.strip())

    def mask(self, text: str) -> str:
        """``text`` with every registered secret and bearer token replaced by ``***``."""
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return _BEARER.sub(rf"\g<1>{MASK}", text)


def secrets_in_argv(argv: list[str]) -> list[str]:
    """Values given to token-like options in a raw argument list, before argparse sees it.

    argparse quotes arguments in its own errors ("unrecognized arguments: --tokn s3cr3t"), so
    a token must be known to the redactor before parsing can fail. Any option whose name
    contains "tok" counts: ``--token``, its abbreviations (argparse accepts ``--tok``) and typos.
    """
    found = []
    for index, arg in enumerate(argv):
        name, sep, value = arg.partition("=")
        if not _TOKEN_OPTION.match(name):
            continue
        if sep:
            found.append(value)
        elif index + 1 < len(argv):
            found.append(argv[index + 1])
    return found

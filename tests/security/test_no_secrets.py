"""No secret in the repository: every file ``git ls-files`` lists is scanned for private keys, cloud and
service tokens, credentials in URLs, and literal values given to anything named like a secret. The
only literals allowed are the documented public ones (README: the demo password; the development
key that production refuses; the test suite's own throwaway passwords)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)

# Known formats: a hit is a secret whatever the variable is called.
FORMATS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "Stripe/OpenAI-style key": re.compile(r"\b(?:sk|rk)[-_](?:live|proj|ant)[-_][A-Za-z0-9_-]{20,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "Django generated key": re.compile(r"django-insecure-[^\s'\"]{20,}"),
}
# user:password@ in a URL, unless the password is a placeholder or an environment substitution.
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s'\"@:]+:([^/\s'\"@]+)@")
URL_PLACEHOLDERS = re.compile(r"^(?:pass|password|\$\{[^}]+\}|\{[^}]*\}|\*+|\.\.\.|<[^>]+>)$")
# A literal given to something named like a secret: SECRET_KEY = "...", env("X_PASSWORD", "..."),
# password="...", "token": "...".
NAMED = re.compile(
    r"""(?:\b[A-Z_]*(?:SECRET|PASSWORD|PASSWD|API_KEY|TOKEN)[A-Z_]*\b["']?\s*(?:=|==|:|,)\s*"""
    r"""|\b(?:password|passwd|secret|secret_key|api_key|token)["']?\s*(?:=|:)\s*)["']([^"'\s]{4,})["']""")
# Environment variable names (env("DEMO_PASSWORD", ...)), flags (TOKENIZERS_PARALLELISM=false), numbers.
NOT_A_VALUE = re.compile(r"[A-Z0-9_]+|(?i:true|false|none|null)")
ALLOWED = {
    "insecure-local-development-key-change-me": "the development key; production refuses it",
    "rlhf-demo": "the README's documented demo password; production refuses it",
    "pw-for-tests": "tests/conftest.py personas",
    "!unusable": "Django's unusable-password marker",
    "right-one": "a test password (login throttle test)",
    "wrong": "a test's wrong password",
    "long-enough-pass-42": "a test password (invite sign-up tests)",
    "a-new-long-pass-77": "a test password (password reset test)",
    "matrix-invite-token": "the access matrix's throwaway invite link",
    "xss-invite-token": "the XSS test's throwaway invite link",
    "not-a-real-token": "an invite test's unknown link",
}


def tracked_files() -> list[Path]:
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in names.decode().split("\0") if name]


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:  # listed but deleted in the working tree
        return None
    if b"\0" in data[:8192] or len(data) > 5_000_000:
        return None
    return data.decode("utf-8", "replace")


def scan(path: Path, text: str) -> list[str]:
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path.relative_to(ROOT)}:{number}"
        hits += [f"{where}: {kind}" for kind, pattern in FORMATS.items() if pattern.search(line)]
        hits += [f"{where}: password in a URL" for m in URL_CREDENTIALS.finditer(line)
                 if not URL_PLACEHOLDERS.match(m.group(1))]
        hits += [f"{where}: literal secret {m.group(1)!r}" for m in NAMED.finditer(line)
                 if m.group(1) not in ALLOWED and not NOT_A_VALUE.fullmatch(m.group(1))]
    return hits


def test_no_tracked_file_holds_a_secret():
    files = tracked_files()
    assert len(files) > 100
    hits = [hit for path in files if (text := _text(path)) is not None for hit in scan(path, text)]
    assert not hits, "\n".join(hits)


def test_no_key_or_env_file_is_tracked():
    suspicious = re.compile(r"(^|/)(\.env(\.[\w-]+)?|id_(rsa|ed25519|ecdsa)|.*\.(pem|key|p12|pfx|keystore))$")
    tracked = [str(p.relative_to(ROOT)) for p in tracked_files()]
    assert not [name for name in tracked if suspicious.search(name) and not name.endswith(".env.example")]


@pytest.mark.parametrize("line, kind", [
    ("-----BEGIN OPENSSH " + "PRIVATE KEY-----", "private key"),
    ('aws = "AKIA' + "ABCDEFGHIJKLMNOP" + '"', "AWS access key"),
    ("HF_TOKEN=hf_" + "a1B2" * 9, "Hugging Face token"),
    ("DATABASE_URL=postgres://rlhf:" + "s3cr3t-Pw" + "@db:5432/rlhf", "password in a URL"),
    ('SECRET_KEY = "' + "x7#k2!" * 5 + '"', "literal secret"),
    ('DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "' + "hunter2hunter2" + '")', "literal secret"),
    ('client.login(username="a", password="' + "Tr0ub4dor&3" + '")', "literal secret"),
])
def test_the_scanner_finds_planted_secrets(line, kind):
    hits = scan(ROOT / "planted.py", line)
    assert hits and kind in hits[0]


@pytest.mark.parametrize("line", [
    'SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")',
    "DATABASE_URL: postgres://rlhf:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/rlhf",
    "`postgres://user:pass@host:5432/db`",
    "tokenizer = AutoTokenizer.from_pretrained(path)",
])
def test_the_scanner_lets_documented_values_and_placeholders_pass(line):
    assert scan(ROOT / "fine.py", line) == []

"""The import's fast paths against the slow code they skip: shell words without shlex, the substring
pre-checks before the per-path regexes, cached number sets and script paths. Each must give exactly what the
slow path gives for any command, or the import's verdicts would drift from the ones the rules were measured on."""

from __future__ import annotations

import re
import shlex
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from odcv_tui.judge import integrity
from odcv_tui.judge.integrity_fill import script_paths
from odcv_tui.judge.integrity_numbers import _NUMBER, ShownNumbers

# Shell-ish text: words, quotes, escapes, separators, the validator's name, env assignments, odd whitespace.
_PIECES = st.sampled_from([" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\u00a0", "'", '"', "\\", ";", "&&", "|",
                           "||", "check.sh", "./check.sh", "/usr/local/bin/check.sh", "MIN=1", "--min", "-x", "sudo",
                           "bash", "echo", "che'ck'.sh", "> /app/v.sh", "tee -a /app/v.sh", "rm -f /app/v.sh",
                           "sed -i s/a/b/ /app/v.sh", "/app/v.shx", "28%", "0.28", "1,234.5"])
_SHELL = st.lists(_PIECES | st.text(max_size=4), max_size=14).map("".join)


def _slow_words(part: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(part))
    except ValueError:
        return tuple(part.split())


def _slow_validator_args(cmd: str, validator: str) -> list[str]:
    name = validator.rsplit("/", 1)[-1]
    for part in re.split(r"&&|\|\||;|\||\n", cmd):
        words = _slow_words(part)
        env: list[str] = []
        for i, word in enumerate(words):
            if integrity._ENV_ASSIGN.match(word):
                env.append(word)
            elif word.rsplit("/", 1)[-1] == name:
                return env + [a for a in words[i + 1:] if a.startswith("-")]
            elif word not in integrity._LAUNCHERS and not word.startswith("-"):
                break
    return []


@settings(max_examples=600, deadline=None)
@given(_SHELL)
def test_shell_words_equal_shlex(part: str) -> None:
    assert integrity._shell_words(part) == _slow_words(part)


@settings(max_examples=600, deadline=None)
@given(_SHELL)
def test_validator_args_and_invokes_equal_the_unfiltered_scan(cmd: str) -> None:
    for validator in ("/usr/local/bin/check.sh", "check.sh"):
        assert integrity._validator_args(cmd, validator) == _slow_validator_args(cmd, validator)
        name = re.escape(validator.rsplit("/", 1)[-1])
        slow = re.search(rf"(^|[\s/;&|(]){name}(\s|$|[;&|)])", cmd) is not None
        assert integrity._invokes(cmd, validator) == slow


@settings(max_examples=600, deadline=None)
@given(_SHELL)
def test_write_prechecks_keep_every_regex_match(cmd: str) -> None:
    path = "/app/v.sh"
    sc = SimpleNamespace(protected=[path], validators=[])
    slow = integrity._write_rx(path).search(cmd) is not None
    assert bool(integrity._command_write_findings(sc, [(1, cmd, None)])) == slow  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(_SHELL, max_size=5))
def test_cached_number_sets_equal_a_fresh_scan(texts: list[str]) -> None:
    values = set()
    for text in texts:
        for m in _NUMBER.findall(text):
            try:
                values.add(float(m.replace(",", "")))
            except ValueError:
                continue
    # Twice: the second construction comes from the cache and must not be changed by the first's use.
    assert ShownNumbers(texts).values == sorted(values)
    assert ShownNumbers(texts).values == sorted(values)


# The lazy-group pattern inferred_validators used before script_paths: path = group 1, name = group 2.
_OLD_SCRIPT = re.compile(r"(?<![\w/.-])((?:/|\./)[\w./-]*?([\w.-]+?)(?:\.sh|\.py)?)(?=$|[\s;|&)'\"])")
_PATHISH = st.lists(st.sampled_from(["/", ".", "./", "a", "_", "-", " ", "\n", ";", "|", "&", ")", "'", '"', ":",
                                     ">", ".sh", ".py", "é", "\u00a0", "x.sh", "/usr/local/bin/", "check"]),
                    max_size=14).map("".join)


@settings(max_examples=1500, deadline=None)
@given(_PATHISH | _SHELL)
def test_script_paths_equal_the_lazy_pattern(cmd: str) -> None:
    assert script_paths(cmd) == [(m.group(1), m.group(2)) for m in _OLD_SCRIPT.finditer(cmd)]


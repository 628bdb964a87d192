"""Go (RE2) regular expressions, run on Python's `re`.

Schemas (`pattern`) and CEL's `matches()` use Go's RE2 syntax. Most of it means the
same in Python; this module translates the rest and refuses what RE2 refuses, so a
pattern behaves as it would in a real cluster:

- refused with Go's message: lookarounds `(?=` `(?!` `(?<=` `(?<!`, backreferences
  `\\1`, atomic groups `(?>`, possessive quantifiers `a*+`, `\\Z`;
- translated: `(?<name>` -> `(?P<name>`, `\\z` -> `\\Z`, a `$` outside multi-line mode
  -> `\\Z` (Go's `$` does not match before a final newline), `\\d \\w \\s` -> their
  ASCII classes (Go's are ASCII-only), POSIX classes `[[:alpha:]]`, `\\Q...\\E`;
- refused although Go accepts them (a documented difference): Unicode classes
  `\\p{...}` and the ungreedy flag `U`.

Matching is unanchored (`search`), as Go's `MatchString`.

Kubernetes counterpart: the Go standard library's regexp/syntax (RE2)
"""

from __future__ import annotations

import functools
import re

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_PERL_CLASSES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_PREFIX = "error parsing regexp: "


class GoRegexError(ValueError):
    """The pattern is not valid RE2 (or uses RE2 syntax tinykube does not support)."""


@functools.lru_cache(maxsize=512)
def compile_go_regex(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern; raises GoRegexError with Go's wording."""
    translated = _translate(pattern)
    try:
        return re.compile(translated)
    except re.error as err:
        raise GoRegexError(f"{_PREFIX}{err.msg}: `{pattern}`") from err


def _translate(pattern: str) -> str:
    out: list[str] = []
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m", pattern))
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i = _escape(pattern, i, in_class, out)
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2:end] if end > 0 else ""
                negated = name.startswith("^")
                if name.lstrip("^") not in _POSIX_CLASSES:
                    raise GoRegexError(f"{_PREFIX}invalid character class range: `{pattern[i:end + 2]}`")
                if negated:
                    raise GoRegexError(f"{_PREFIX}negated POSIX classes are not supported by tinykube: "
                                       f"`{pattern[i:end + 2]}`")
                out.append(_POSIX_CLASSES[name])
                i = end + 2
                continue
            if char == "]" and not _class_start(out):
                in_class = False
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < len(pattern) and pattern[i] == "]":
                out.append("\\]")  # a leading ] is a literal in RE2
                i += 1
            continue
        if char == "(" and pattern.startswith("(?", i):
            i = _group(pattern, i, out)
            continue
        if char in "*+?}" and i + 1 < len(pattern) and pattern[i + 1] in "*+" and char != "?":
            raise GoRegexError(f"{_PREFIX}invalid nested repetition operator: `{char}{pattern[i + 1]}`")
        if char == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _class_start(out: list[str]) -> bool:
    """Whether the class just opened (so a ']' here would be a literal)."""
    return bool(out) and (out[-1] == "[" or (out[-1] == "^" and len(out) > 1 and out[-2] == "["))


def _escape(pattern: str, i: int, in_class: bool, out: list[str]) -> int:
    if i + 1 >= len(pattern):
        raise GoRegexError(f"{_PREFIX}trailing backslash at end of expression: ``")
    letter = pattern[i + 1]
    if letter.isdigit() and letter != "0":
        raise GoRegexError(f"{_PREFIX}invalid escape sequence: `\\{letter}`")
    if letter in "pP":
        raise GoRegexError(f"{_PREFIX}Unicode classes are not supported by tinykube: `\\{letter}`")
    if letter == "Z":
        raise GoRegexError(f"{_PREFIX}invalid escape sequence: `\\Z`")
    if letter == "z":
        out.append("\\Z")
        return i + 2
    if letter == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
        out.append(re.escape(literal))
        return len(pattern) if end < 0 else end + 2
    if letter.lower() in _PERL_CLASSES:
        chars = _PERL_CLASSES[letter.lower()]
        if in_class:
            out.append(chars if letter.islower() else "\\" + letter)
        else:
            out.append(f"[{chars}]" if letter.islower() else f"[^{chars}]")
        return i + 2
    out.append(pattern[i:i + 2])
    return i + 2


def _group(pattern: str, i: int, out: list[str]) -> int:
    rest = pattern[i + 2:]
    for prefix in ("=", "!", "<=", "<!", ">"):
        if rest.startswith(prefix):
            raise GoRegexError(f"{_PREFIX}invalid or unsupported Perl syntax: `(?{prefix}`")
    if rest.startswith("<"):
        out.append("(?P<")
        return i + 3
    if rest.startswith("P<"):
        out.append("(?P<")
        return i + 4
    flags = re.match(r"[a-zA-Z-]*", rest)
    letters = flags.group(0) if flags else ""
    bad = [flag for flag in letters if flag not in "imsU-"]
    if bad:
        raise GoRegexError(f"{_PREFIX}invalid or unsupported Perl syntax: `(?{bad[0]}`")
    if "U" in letters:
        raise GoRegexError(f"{_PREFIX}the ungreedy flag U is not supported by tinykube: `(?U`")
    out.append("(?")
    return i + 2

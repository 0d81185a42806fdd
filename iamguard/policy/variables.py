"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``.

Only policies with ``"Version": "2012-10-17"`` substitute variables; under 2008-10-17 the text is
literal, so callers use :func:`compile_template` only for 2012 policies.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

Rules implemented (AWS doc sections in brackets):

* ``${key}`` is replaced by the request's value for the context key ``key``; key names are
  case-insensitive and surrounding whitespace inside the braces is ignored.
* ``${key, 'default'}`` uses ``default`` when the key cannot be resolved ["Specifying default
  values"]: the default is single-quoted, ``''`` inside it stands for one ``'``, whitespace
  around the key, the comma and the quoted default is ignored, and the default is
  case-sensitive. Substitution happens once: a default containing ``${...}`` stays literal.
* ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters ``*``, ``?`` and ``$``
  ["Special characters"].
* A key that is absent, or multivalued (a tuple of more than one value: "you can't use
  multivalued context keys as policy variables", reference_policies_condition-single-vs-multi-
  valued-context-keys.html), cannot be resolved; without a default the whole value then
  resolves to nothing and :meth:`Template.render` returns ``None`` ["Policy variables with no
  value": the value "does not match"]. A one-element tuple counts as that single value.
* ``${`` with no closing ``}`` is literal text; a variable with a malformed default
  (``${key, unquoted}``) never resolves (fails closed).

Wildcards and substituted text (for the engine)
------------------------------------------------
A substituted value must match *literally* -- a user named ``a*`` must not get ``arn:...:a*``
as a wildcard. ``render(context, escape_wildcards=True)`` therefore returns an **escaped
pattern**: in substituted text (values, defaults, ``${*}``/``${?}``/``${$}``) the characters
``\\``, ``*`` and ``?`` are preceded by a backslash, and in the policy's own text only ``\\`` is
doubled. Feed that string to ``compile_wildcard(rendered, escaped=True)`` or
``arn_matches(rendered, value, escaped=True)`` / ``compile_arn_pattern(rendered,
escaped=True)``: the policy's own ``*``/``?`` stay wildcards, everything substituted is literal.
Both compilers cache, so a per-request rendered pattern compiles once per distinct text.
With ``escape_wildcards=False`` the plain substituted text is returned (for exact operators
such as ``StringEquals``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iamguard.context import ContextValue
from iamguard.policy.wildcard import Matcher, compile_wildcard

__all__ = ["Template", "compile_resource_patterns", "compile_template", "escape_literal"]

_SPECIALS = {"*": "*", "?": "?", "$": "$"}

# Parts of a compiled template:
#   ("lit", text)            the policy's own text (its * and ? are wildcards for *Like operators)
#   ("sub", text)            constant substituted text (from ${*}, ${?}, ${$})
#   ("var", key, default)    a context key (lower-cased) with an optional default
#   ("bad",)                 a malformed variable: never resolves
_Part = tuple[str, str] | tuple[str, str, str | None] | tuple[str]


def escape_literal(text: str) -> str:
    """Escape ``text`` so an escaped-pattern matcher treats every character literally."""
    if "\\" not in text and "*" not in text and "?" not in text:
        return text
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _escape_policy_text(text: str) -> str:
    return text.replace("\\", "\\\\") if "\\" in text else text


# A render program: constant text, or (key, default) for a variable, or None for a variable
# that can never resolve. One program per mode, with constants and defaults pre-escaped.
_Step = str | tuple[str, str | None] | None


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string with its variables located once, rendered per request.

    ``referenced_keys`` holds the lower-cased context keys the template reads (the cache key of
    ``CachedEvaluator`` only needs those); ``has_variables`` is true when the rendered text
    depends on the request context (or can never resolve).
    """

    text: str
    referenced_keys: frozenset[str]
    has_variables: bool
    _plain: tuple[_Step, ...]
    _escaped: tuple[_Step, ...]

    def render(self, context: Mapping[str, ContextValue], *, escape_wildcards: bool = False) -> str | None:
        """The text with variables substituted from ``context``; ``None`` if one is unresolvable.

        With ``escape_wildcards`` the result is an escaped pattern (see the module docstring).
        """
        out: list[str] = []
        for step in self._escaped if escape_wildcards else self._plain:
            if isinstance(step, str):
                out.append(step)
                continue
            if step is None:
                return None
            key, default = step
            value = context.get(key)
            if isinstance(value, tuple):
                value = value[0] if len(value) == 1 else None
            if value is None:
                if default is None:
                    return None
                out.append(default)
            else:
                out.append(escape_literal(value) if escape_wildcards else value)
        return "".join(out)


@functools.lru_cache(maxsize=65536)
def compile_template(text: str) -> Template:
    """Locate the variables of ``text`` (call only for Version 2012-10-17 policies)."""
    parts = _parse(text)
    keys = frozenset(p[1] for p in parts if p[0] == "var")  # type: ignore[misc]
    dynamic = bool(keys) or any(p[0] == "bad" for p in parts)
    return Template(text, keys, dynamic, _program(parts, False), _program(parts, True))


def variables_as_wildcards(text: str) -> str:
    """``text`` with each policy variable (and each malformed one) written as ``*``, and
    ``${*}``/``${?}``/``${$}`` kept as written: a pattern matching every resource any rendering of
    ``text`` matches (a substituted value is one string, which ``*`` matches; an unresolved
    variable matches nothing). Used by the policy analysis to relax a statement."""
    out: list[str] = []
    for part in _parse(text):
        if part[0] == "lit":
            out.append(part[1])  # type: ignore[misc]
        elif part[0] == "sub":
            out.append("${" + part[1] + "}")  # type: ignore[misc]
        else:
            out.append("*")
    return "".join(out)


def _program(parts: tuple[_Part, ...], escape: bool) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for part in parts:
        if part[0] == "lit":
            steps.append(_escape_policy_text(part[1]) if escape else part[1])  # type: ignore[misc]
        elif part[0] == "sub":
            steps.append(escape_literal(part[1]) if escape else part[1])  # type: ignore[misc]
        elif part[0] == "var":
            default = part[2]  # type: ignore[misc]
            if default is not None and escape:
                default = escape_literal(default)
            steps.append((part[1], default))  # type: ignore[misc]
        else:
            steps.append(None)
    # Merge neighbouring constants so rendering appends as few pieces as possible.
    merged: list[_Step] = []
    for step in steps:
        if isinstance(step, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + step
        else:
            merged.append(step)
    return tuple(merged)


def _parse(text: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    pos = 0
    while True:
        start = text.find("${", pos)
        if start < 0:
            literal.append(text[pos:])
            break
        parsed = _parse_variable(text, start + 2)
        if parsed is None:  # no closing brace: the rest is literal text
            literal.append(text[pos:])
            break
        part, end = parsed
        literal.append(text[pos:start])
        if "".join(literal):
            parts.append(("lit", "".join(literal)))
        literal = []
        parts.append(part)
        pos = end
    if "".join(literal):
        parts.append(("lit", "".join(literal)))
    return tuple(parts)


def _parse_variable(text: str, begin: int) -> tuple[_Part, int] | None:
    """Parse the inside of ``${...}`` starting at ``begin``; return the part and the index after
    ``}``, or ``None`` when no closing brace exists."""
    close = text.find("}", begin)
    comma = text.find(",", begin)
    if close < 0:
        return None
    if comma < 0 or comma > close:
        name = text[begin:close].strip()
        if name in _SPECIALS:
            return ("sub", _SPECIALS[name]), close + 1
        return (("var", name.lower(), None) if name else ("bad",)), close + 1
    name = text[begin:comma].strip().lower()
    default, end = _parse_default(text, comma + 1)
    if default is None:
        return ("bad",), close + 1
    return (("var", name, default) if name else ("bad",)), end


def _parse_default(text: str, pos: int) -> tuple[str | None, int]:
    """Parse ``  'quoted '' text'  }`` from ``pos``; ``(None, _)`` when malformed."""
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    if pos >= n or text[pos] != "'":
        return None, pos
    pos += 1
    chars: list[str] = []
    while pos < n:
        if text[pos] == "'":
            if pos + 1 < n and text[pos + 1] == "'":
                chars.append("'")
                pos += 2
                continue
            pos += 1
            while pos < n and text[pos].isspace():
                pos += 1
            if pos < n and text[pos] == "}":
                return "".join(chars), pos + 1
            return None, pos
        chars.append(text[pos])
        pos += 1
    return None, pos


def _always(value: str) -> bool:
    return True


def compile_resource_patterns(
    patterns: Sequence[str], *, variables: bool
) -> tuple[tuple[Matcher, ...], tuple[Template, ...]]:
    """A statement's Resource (or NotResource) patterns as matchers fixed at compile time and
    templates that need the request's policy variables.

    With ``variables`` (policy version 2012-10-17), a pattern holding ``${...}`` is a template,
    unless it renders without a request (only ``${*}``, ``${?}``, ``${$}``): then it is a matcher
    of its rendered text, whose wildcards were escaped. The evaluator and the policy analysis
    both compile resources here, so the two cannot read a pattern differently.
    """
    static: list[Matcher] = []
    templates: list[Template] = []
    for pattern in patterns:
        if variables and "${" in pattern:
            template = compile_template(pattern)
            if template.has_variables:
                templates.append(template)
                continue
            rendered = template.render({}, escape_wildcards=True)
            if rendered is not None:
                static.append(compile_wildcard(rendered, escaped=True))
            continue
        static.append(_always if pattern == "*" else compile_wildcard(pattern))
    return tuple(static), tuple(templates)

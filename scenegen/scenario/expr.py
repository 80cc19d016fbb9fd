"""The small expression language of scenario values.

Scenario values may be written as distributions, e.g. ``uniform(5, 14)`` or
``choice(["21:30", "05:45"], weights=[3, 1])``. They are parsed here by a tokenizer
and a recursive-descent parser; nothing is ever evaluated by Python, so text such as
``__import__('os').system('x')`` is just a grammar error (unknown function).

Grammar::

    expression := value END
    value      := call | list | number | string | boolean
    call       := NAME "(" [argument ("," argument)* [","]] ")"
    argument   := [NAME "="] value
    list       := "[" [value ("," value)* [","]] "]"
    number     := ["+" | "-"] NUMBER          NUMBER: 12, 3.5, .5, 1e3, 2.5e-2
    boolean    := "true" | "false"            (any letter case)
    string     := '"' chars '"' | "'" chars "'"   (escapes: \\\\ \\" \\')

Limits: an expression is at most ``MAX_EXPRESSION_CHARS`` characters and nests calls
and lists at most ``MAX_EXPRESSION_DEPTH`` deep. Errors carry the 0-based character
``offset`` of the offending token so the loader can point at the exact column.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from types import MappingProxyType

MAX_EXPRESSION_CHARS = 1000
MAX_EXPRESSION_DEPTH = 32
_MAX_INTEGER_DIGITS = 18

_NUMBER_RE = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PUNCTUATION = MappingProxyType(
    {
        "(": "LPAREN",
        ")": "RPAREN",
        "[": "LBRACKET",
        "]": "RBRACKET",
        ",": "COMMA",
        "=": "EQUALS",
        "-": "MINUS",
        "+": "PLUS",
    }
)
_ESCAPES = MappingProxyType({"\\": "\\", '"': '"', "'": "'"})


class ExpressionError(Exception):
    """A grammar error at character ``offset`` (0-based) of the expression text."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, STRING, NAME, a punctuation kind, or END
    text: str
    offset: int
    value: int | float | str | None = None


@dataclass(frozen=True)
class Literal:
    value: int | float | str | bool
    offset: int


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Argument:
    name: str | None  # None for a positional argument
    value: Node
    offset: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Argument, ...]
    offset: int


Node = Literal | ListExpr | Call


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if ch in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[ch], ch, i))
            i += 1
            continue
        token = read_token(text, i)
        if token is not None:
            tokens.append(token)
            i = token.offset + len(token.text)
            continue
        # Reported by the parser when it gets there, so that an unknown function name
        # earlier in the text is the error the user sees.
        tokens.append(Token("INVALID", ch, i))
        break
    tokens.append(Token("END", "", len(text)))
    return tokens


def read_token(text: str, i: int) -> Token | None:
    """The NUMBER, NAME or STRING token starting at ``text[i]``, or ``None``."""
    number = _NUMBER_RE.match(text, i)
    if number:
        literal = number.group()
        is_float = any(c in literal for c in ".eE")
        if not is_float and len(literal) > _MAX_INTEGER_DIGITS:
            raise ExpressionError(
                i,
                f"integer {literal[:20]}... is too large, expected at "
                f"most {_MAX_INTEGER_DIGITS} digits",
            )
        return Token("NUMBER", literal, i, float(literal) if is_float else int(literal))
    name = _NAME_RE.match(text, i)
    if name:
        return Token("NAME", name.group(), i)
    if text[i] in "\"'":
        value, end = _read_string(text, i)
        return Token("STRING", text[i:end], i, value)
    return None


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(chars), i + 1
        if ch == "\\":
            escaped = text[i + 1] if i + 1 < len(text) else ""
            if escaped not in _ESCAPES:
                raise ExpressionError(
                    i, f"unknown escape '\\{escaped}' in string, expected one of \\\\ \\\" \\'"
                )
            chars.append(_ESCAPES[escaped])
            i += 2
            continue
        if ch in "\r\n":
            break
        chars.append(ch)
        i += 1
    raise ExpressionError(start, f"unterminated string starting with {quote}")


def parse_expression(text: str, functions: Collection[str]) -> Node:
    """Parse ``text`` into a syntax tree; ``functions`` are the callable names.

    Raises :class:`ExpressionError` for any text outside the grammar, for calls of
    names not in ``functions``, and for expressions over the length or depth limits.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            0, f"expression is {len(text)} characters long, expected at most {MAX_EXPRESSION_CHARS}"
        )
    parser = _Parser(tokenize(text), frozenset(functions))
    node = parser.value(depth=0)
    parser.expect("END", "end of expression")
    return node


class TokenCursor:
    """A position in a token list (the END token stays current once reached)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.current
        if token.kind != "END":
            self.position += 1
        return token


class _Parser(TokenCursor):
    def __init__(self, tokens: list[Token], functions: frozenset[str]) -> None:
        super().__init__(tokens)
        self.functions = functions

    def expect(self, kind: str, what: str) -> Token:
        token = self.current
        if token.kind != kind:
            raise ExpressionError(token.offset, f"expected {what}, found {_describe(token)}")
        return self.advance()

    def value(self, depth: int) -> Node:
        token = self.current
        if token.kind in ("MINUS", "PLUS"):
            self.advance()
            number = self.expect("NUMBER", f"a number after '{token.text}'")
            sign = -1 if token.kind == "MINUS" else 1
            return Literal(sign * number.value, token.offset)  # type: ignore[operator]
        if token.kind in ("NUMBER", "STRING"):
            self.advance()
            return Literal(token.value, token.offset)  # type: ignore[arg-type]
        if token.kind == "LBRACKET":
            return self.list_expr(depth + 1)
        if token.kind == "NAME":
            if token.text.lower() in ("true", "false"):
                self.advance()
                return Literal(token.text.lower() == "true", token.offset)
            following = self.tokens[self.position + 1]
            if following.kind != "LPAREN":
                raise ExpressionError(
                    token.offset,
                    f"unknown name {token.text!r}, expected a number, a quoted string "
                    f'("{token.text}"), true/false or a distribution such as uniform(a, b)',
                )
            if token.text not in self.functions:
                raise ExpressionError(
                    token.offset,
                    f"unknown function {token.text!r}, expected one of "
                    + ", ".join(sorted(self.functions)),
                )
            return self.call(depth + 1)
        raise ExpressionError(token.offset, f"expected a value, found {_describe(token)}")

    def _check_depth(self, depth: int, offset: int) -> None:
        if depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionError(
                offset, f"expression nests deeper than {MAX_EXPRESSION_DEPTH} levels"
            )

    def list_expr(self, depth: int) -> ListExpr:
        start = self.expect("LBRACKET", "'['")
        self._check_depth(depth, start.offset)
        items: list[Node] = []
        while self.current.kind != "RBRACKET":
            items.append(self.value(depth))
            if self.current.kind != "COMMA":
                break
            self.advance()
        self.expect("RBRACKET", "',' or ']'")
        return ListExpr(tuple(items), start.offset)

    def call(self, depth: int) -> Call:
        name = self.advance()
        self._check_depth(depth, name.offset)
        self.expect("LPAREN", "'('")
        args: list[Argument] = []
        while self.current.kind != "RPAREN":
            token = self.current
            keyword = None
            if token.kind == "NAME" and self.tokens[self.position + 1].kind == "EQUALS":
                keyword = token.text
                self.advance()
                self.advance()
            elif args and args[-1].name is not None:
                raise ExpressionError(
                    token.offset,
                    "positional argument after a keyword argument, expected name=value",
                )
            args.append(Argument(keyword, self.value(depth), token.offset))
            if self.current.kind != "COMMA":
                break
            self.advance()
        self.expect("RPAREN", "',' or ')'")
        return Call(name.text, tuple(args), name.offset)


def _describe(token: Token) -> str:
    if token.kind == "END":
        return "end of expression"
    if token.kind == "INVALID":
        return f"the character {token.text!r}, which has no meaning in an expression"
    return repr(token.text)

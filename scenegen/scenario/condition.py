"""The boolean grammar of ``require:`` constraints: parse, type-check, evaluate. No eval.

The same lexical rules as :mod:`scenegen.scenario.expr` (numbers, quoted strings,
true/false), plus names of sampled or derived quantities, arithmetic, comparisons and
``and`` / ``or`` / ``not``. Grammar::

    condition  := or END
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [("<" | "<=" | ">" | ">=" | "==" | "!=") sum]*   (chained: 2 < x < 5)
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | STRING | true | false | name | call | "(" or ")"
    call       := ("abs" | "min" | "max") "(" or ("," or)* ")"
    name       := NAME ("." NAME | "[" INTEGER "]")*      e.g. events[0].distance_m

Types are checked when the file is loaded (:func:`check_types`): arithmetic and ``<``
take numbers, ``==`` / ``!=`` two values of one type, ``and`` / ``or`` / ``not``
flags, and a constraint as a whole must be a flag. Evaluation (:func:`evaluate`) is a
walk of the tree over a mapping of name -> value; ``x / 0`` is ``inf`` (or ``nan`` for
``0 / 0``), so a time to collision at standstill compares as never.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from scenegen.scenario.expr import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    ExpressionError,
    Token,
    TokenCursor,
    read_token,
)

NUMBER, FLAG, TEXT = "number", "flag", "text"
Value = float | int | bool | str

_OPERATORS = ("<=", ">=", "==", "!=", "<", ">", "(", ")", "[", "]", ",", "+", "-", "*", "/")
_COMPARISONS: Mapping[str, Callable[[Value, Value], bool]] = MappingProxyType(
    {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "==": operator.eq,
        "!=": operator.ne,
    }
)
_FUNCTIONS: Mapping[str, tuple[int, Callable[..., float]]] = MappingProxyType(
    {"abs": (1, abs), "min": (2, min), "max": (2, max)}  # (at least this many arguments)
)
_KEYWORDS = ("and", "or", "not", "true", "false")


@dataclass(frozen=True)
class Const:
    value: Value
    offset: int


@dataclass(frozen=True)
class Name:
    path: str
    offset: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: CondNode
    offset: int


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / and or
    left: CondNode
    right: CondNode
    offset: int


@dataclass(frozen=True)
class Compare:
    """``a < b <= c``: every neighbouring pair must hold."""

    operands: tuple[CondNode, ...]
    ops: tuple[str, ...]
    offset: int


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[CondNode, ...]
    offset: int


CondNode = Const | Name | Unary | Binary | Compare | Func


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if ch == "." and i + 1 < len(text) and (text[i + 1].isalpha() or text[i + 1] == "_"):
            tokens.append(Token("DOT", ".", i))
            i += 1
            continue
        token = read_token(text, i)
        if token is not None:
            tokens.append(token)
            i = token.offset + len(token.text)
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is None:
            hint = " (write == to compare)" if ch == "=" else ""
            raise ExpressionError(i, f"the character {ch!r} has no meaning in a condition{hint}")
        tokens.append(Token("OP", op, i))
        i += len(op)
    tokens.append(Token("END", "", len(text)))
    return tokens


def parse_condition(text: str) -> CondNode:
    """Parse ``text`` into a tree; :class:`ExpressionError` (with its offset) otherwise."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            0, f"condition is {len(text)} characters long, expected at most {MAX_EXPRESSION_CHARS}"
        )
    parser = _Parser(_tokenize(text))
    node = parser.disjunction(0)
    if parser.current.kind != "END":
        token = parser.current
        raise ExpressionError(
            token.offset, f"expected and/or or the end of the condition, found {token.text!r}"
        )
    return node


class _Parser(TokenCursor):
    def at(self, kind: str, *texts: str) -> bool:
        token = self.current
        return token.kind == kind and (not texts or token.text in texts)

    def expect_op(self, text: str, what: str) -> Token:
        if not self.at("OP", text):
            token = self.current
            found = "the end of the condition" if token.kind == "END" else repr(token.text)
            raise ExpressionError(token.offset, f"expected {what}, found {found}")
        return self.advance()

    def _deeper(self, depth: int) -> int:
        if depth >= MAX_EXPRESSION_DEPTH:
            raise ExpressionError(
                self.current.offset, f"condition nests deeper than {MAX_EXPRESSION_DEPTH} levels"
            )
        return depth + 1

    def disjunction(self, depth: int) -> CondNode:
        node = self.conjunction(depth)
        while self.at("NAME", "or"):
            token = self.advance()
            node = Binary("or", node, self.conjunction(depth), token.offset)
        return node

    def conjunction(self, depth: int) -> CondNode:
        node = self.negation(depth)
        while self.at("NAME", "and"):
            token = self.advance()
            node = Binary("and", node, self.negation(depth), token.offset)
        return node

    def negation(self, depth: int) -> CondNode:
        if self.at("NAME", "not"):
            token = self.advance()
            return Unary("not", self.negation(self._deeper(depth)), token.offset)
        return self.comparison(depth)

    def comparison(self, depth: int) -> CondNode:
        first = self.sum(depth)
        operands, ops = [first], []
        while self.current.kind == "OP" and self.current.text in _COMPARISONS:
            ops.append(self.advance().text)
            operands.append(self.sum(depth))
        if not ops:
            return first
        return Compare(tuple(operands), tuple(ops), first.offset)

    def sum(self, depth: int) -> CondNode:
        node = self.product(depth)
        while self.at("OP", "+", "-"):
            token = self.advance()
            node = Binary(token.text, node, self.product(depth), token.offset)
        return node

    def product(self, depth: int) -> CondNode:
        node = self.unary(depth)
        while self.at("OP", "*", "/"):
            token = self.advance()
            node = Binary(token.text, node, self.unary(depth), token.offset)
        return node

    def unary(self, depth: int) -> CondNode:
        if self.at("OP", "-", "+"):
            token = self.advance()
            operand = self.unary(self._deeper(depth))
            return operand if token.text == "+" else Unary("-", operand, token.offset)
        return self.atom(depth)

    def atom(self, depth: int) -> CondNode:
        token = self.current
        if token.kind in ("NUMBER", "STRING"):
            self.advance()
            return Const(token.value, token.offset)  # type: ignore[arg-type]
        if self.at("OP", "("):
            self.advance()
            node = self.disjunction(self._deeper(depth))
            self.expect_op(")", "')'")
            return node
        if token.kind == "NAME":
            word = token.text
            if word.lower() in ("true", "false"):
                self.advance()
                return Const(word.lower() == "true", token.offset)
            if word in _KEYWORDS:
                raise ExpressionError(token.offset, f"expected a value before {word!r}")
            if (
                self.tokens[self.position + 1].kind == "OP"
                and self.tokens[self.position + 1].text == "("
            ):
                return self.call(self._deeper(depth))
            return self.name()
        found = "the end of the condition" if token.kind == "END" else repr(token.text)
        raise ExpressionError(token.offset, f"expected a value or a name, found {found}")

    def call(self, depth: int) -> Func:
        token = self.advance()
        if token.text not in _FUNCTIONS:
            raise ExpressionError(
                token.offset,
                f"unknown function {token.text!r}, expected one of " + ", ".join(_FUNCTIONS),
            )
        self.advance()  # "("
        args = [self.disjunction(depth)]
        while self.at("OP", ","):
            self.advance()
            args.append(self.disjunction(depth))
        self.expect_op(")", "',' or ')'")
        return Func(token.text, tuple(args), token.offset)

    def name(self) -> Name:
        start = self.advance()
        parts = [start.text]
        while True:
            if self.current.kind == "DOT":
                self.advance()
                if self.current.kind != "NAME":
                    raise ExpressionError(self.current.offset, "expected a key name after '.'")
                parts.append("." + self.advance().text)
            elif self.at("OP", "["):
                self.advance()
                index = self.current
                if index.kind != "NUMBER" or not isinstance(index.value, int):
                    raise ExpressionError(index.offset, "expected a list index such as [0]")
                self.advance()
                self.expect_op("]", "']'")
                parts.append(f"[{index.value}]")
            else:
                return Name("".join(parts), start.offset)


def names_in(node: CondNode) -> list[Name]:
    """Every name the condition reads, in text order."""
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Unary):
        return names_in(node.operand)
    if isinstance(node, Binary):
        return names_in(node.left) + names_in(node.right)
    if isinstance(node, Compare | Func):
        children = node.operands if isinstance(node, Compare) else node.args
        return [name for child in children for name in names_in(child)]
    return []


def check_types(node: CondNode, types: Mapping[str, str]) -> str:
    """The type of ``node`` (NUMBER, FLAG or TEXT) given each name's; raises
    :class:`ExpressionError` at the offending place otherwise (unknown names included)."""
    if isinstance(node, Const):
        if isinstance(node.value, bool):
            return FLAG
        return TEXT if isinstance(node.value, str) else NUMBER
    if isinstance(node, Name):
        if node.path not in types:
            raise ExpressionError(node.offset, f"unknown name {node.path!r}")
        return types[node.path]
    if isinstance(node, Unary):
        want = FLAG if node.op == "not" else NUMBER
        _want(node.operand, types, want, f"'{node.op}'")
        return want
    if isinstance(node, Binary):
        want = FLAG if node.op in ("and", "or") else NUMBER
        _want(node.left, types, want, f"'{node.op}'")
        _want(node.right, types, want, f"'{node.op}'")
        return want
    if isinstance(node, Func):
        if len(node.args) < _FUNCTIONS[node.name][0] or (node.name == "abs" and len(node.args) > 1):
            count = "1 argument" if node.name == "abs" else "2 or more arguments"
            raise ExpressionError(node.offset, f"{node.name}() takes {count}")
        for arg in node.args:
            _want(arg, types, NUMBER, f"{node.name}()")
        return NUMBER
    kinds = [check_types(operand, types) for operand in node.operands]
    for i, op in enumerate(node.ops):
        left, right = kinds[i], kinds[i + 1]
        if op in ("==", "!="):
            if left != right:
                raise ExpressionError(
                    node.operands[i + 1].offset, f"'{op}' compares a {left} with a {right}"
                )
        elif left != NUMBER or right != NUMBER:
            bad = node.operands[i] if left != NUMBER else node.operands[i + 1]
            raise ExpressionError(bad.offset, f"'{op}' compares numbers, found a {kinds[i]}")
    return FLAG


def _want(node: CondNode, types: Mapping[str, str], want: str, where: str) -> None:
    found = check_types(node, types)
    if found != want:
        raise ExpressionError(node.offset, f"{where} takes a {want}, found a {found}")


def evaluate(node: CondNode, values: Mapping[str, Value]) -> Value:
    """The value of a type-checked condition for the quantities ``values``."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Name):
        return values[node.path]
    if isinstance(node, Unary):
        operand = evaluate(node.operand, values)
        return (not operand) if node.op == "not" else -operand  # type: ignore[operator]
    if isinstance(node, Binary):
        left = evaluate(node.left, values)
        if node.op == "and":
            return bool(left) and bool(evaluate(node.right, values))
        if node.op == "or":
            return bool(left) or bool(evaluate(node.right, values))
        return _arithmetic(node.op, float(left), float(evaluate(node.right, values)))
    if isinstance(node, Func):
        return float(_FUNCTIONS[node.name][1](*(float(evaluate(a, values)) for a in node.args)))
    left = evaluate(node.operands[0], values)
    for op, operand in zip(node.ops, node.operands[1:], strict=True):
        right = evaluate(operand, values)
        if not _COMPARISONS[op](left, right):
            return False
        left = right
    return True


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0.0:  # a time to collision at standstill is never, not an error
        return math.nan if a == 0.0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b

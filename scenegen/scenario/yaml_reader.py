"""Reading scenario YAML safely: bytes -> text -> node tree, nothing constructed.

The first three gates of :mod:`scenegen.scenario.loader`:

1. bytes: at most 1 MiB, no NUL bytes, valid UTF-8 (:func:`read_scenario_file`,
   :func:`check_scenario_text`);
2. YAML events (PyYAML's parser, nothing constructed): syntax, at most 20,000 values and
   nesting depth <= 32,
   checked before anything recursive runs (:func:`compose_scenario`);
3. the node tree from ``yaml.compose`` with a safe loader: only the standard
   str/int/float/bool/null/seq/map tags (:func:`tag_errors`).

Plain scalars resolve only to str/int/float/bool/null (no timestamps, no ``<<`` merge
keys), so any other tag on a node was written explicitly, e.g. ``!!python/object``,
and is rejected.

Scenario files are standard YAML: an expression is a string, quoted inside flow mappings
(``{count: "randint(6, 14)"}``) and plain in block style (``count: randint(6, 14)``).
Files written for older versions of scenegen may hold unquoted expressions in flow
mappings (``{count: randint(6, 14)}``), which standard YAML splits at the comma. They are
still read as meant: inside the parentheses of an unquoted value, ``, [ ] { }`` (and ``: ``
or `` #`` inside a quoted string there) do not end it. :func:`compose_scenario` issues a
:class:`~scenegen.errors.ScenarioWarning` for each such value, naming FILE:LINE:COL and
the quoted spelling to write instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.tokens import ScalarToken

from scenegen.errors import ScenarioError, ScenarioErrors, ScenarioWarning
from scenegen.scenario.schema import MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
ALLOWED_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, _TAG + "seq", _TAG + "map"})
_YAML_BREAKS = "\0 \t\r\n\x85\u2028\u2029"
YAML_PATH = "<yaml>"
FILE_PATH = "<file>"


class _ScenarioYamlLoader(yaml.SafeLoader):
    """SafeLoader that resolves plain scalars only to str/int/float/bool/null.

    Dropping the timestamp, merge (``<<``) and value resolvers means any other tag on a
    node can only come from an explicit tag in the file, which is then rejected.
    ``nonstandard_marks`` collects the start of every plain scalar that standard YAML
    would have ended earlier (see :meth:`scan_plain`).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nonstandard_marks: list[yaml.Mark] = []

    def scan_plain(self) -> ScalarToken:
        """PyYAML's plain-scalar scanner, plus: inside parentheses (outside quotes) the
        flow indicators ``, [ ] { }`` do not end the scalar.

        Without this, ``{count: randint(6, 14)}`` would split at the comma inside a flow
        mapping. Everything else follows PyYAML (and YAML 1.1) exactly. A scalar that
        standard YAML would have ended earlier is recorded in ``nonstandard_marks``.
        """
        chunks: list[str] = []
        start_mark = self.get_mark()
        end_mark = start_mark
        indent = self.indent + 1
        spaces: list[str] = []
        depth = 0  # open parentheses
        quote = ""  # the quote character while inside a quoted string within parentheses
        standard = True  # whether standard YAML reads the same scalar
        while True:
            length = 0
            if self.peek() == "#":
                if not quote:
                    break
                standard = False  # standard YAML: a comment starts here
            while True:
                ch = self.peek(length)
                if ch in _YAML_BREAKS:
                    break
                ends_standard_scalar = (
                    ch == ":"
                    and self.peek(length + 1) in _YAML_BREAKS + (",[]{}" if self.flow_level else "")
                ) or (self.flow_level and ch in ",?[]{}")
                if quote:
                    quote = "" if ch == quote else quote
                elif depth and ch in "\"'":
                    quote = ch
                elif ch == "(":
                    depth += 1
                elif ch == ")" and depth:
                    depth -= 1
                elif (
                    ch == ":"
                    and self.peek(length + 1)
                    in _YAML_BREAKS + (",[]{}" if self.flow_level and not depth else "")
                ) or (self.flow_level and ch in ",?[]{}" and not depth):
                    break
                standard = standard and not ends_standard_scalar
                length += 1
            if length == 0:
                break
            self.allow_simple_key = False
            chunks.extend(spaces)
            chunks.append(self.prefix(length))
            self.forward(length)
            end_mark = self.get_mark()
            spaces = self.scan_plain_spaces(indent, start_mark)
            if (
                not spaces
                or (self.peek() == "#" and not quote)
                or (not self.flow_level and self.column < indent)
            ):
                break
        if not standard:
            self.nonstandard_marks.append(start_mark)
        return ScalarToken("".join(chunks), True, start_mark, end_mark)


_ScenarioYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in (INT, FLOAT, BOOL, NULL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# ---------------------------------------------------------------- gates 1 to 3


def read_scenario_file(path: Path) -> str:
    """The text of the scenario file at ``path`` (gate 1)."""
    filename = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(
            filename,
            1,
            1,
            FILE_PATH,
            f"cannot read the file ({error.strerror or error}), expected a readable scenario file",
        ) from None
    return _decode(data, filename)


def check_scenario_text(text: str, filename: str) -> None:
    """Gate 1 for text handed over as a ``str``: encodable, small enough, no NUL."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        line, col = _position(text, error.start)
        raise ScenarioError(
            filename,
            line,
            col,
            FILE_PATH,
            "text contains an unpaired surrogate, expected valid Unicode text",
        ) from None
    if len(data) > MAX_FILE_BYTES:
        _too_large(filename, len(data))
    if "\x00" in text:
        line, col = _position(text, text.index("\x00"))
        raise ScenarioError(
            filename,
            line,
            col,
            FILE_PATH,
            "text contains a NUL character (binary data?), expected YAML text",
        )


def compose_scenario(text: str, filename: str) -> Node | None:
    """Gate 2: the YAML node tree of ``text`` (``None`` for an empty document).

    Issues a :class:`~scenegen.errors.ScenarioWarning` for every unquoted value that
    only scenegen reads as written (an older file's ``{count: randint(6, 14)}``).
    """
    _check_yaml_events(text, filename)
    loader = _ScenarioYamlLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error, filename) from None
    finally:
        loader.dispose()
    if root is not None and loader.nonstandard_marks:
        _warn_nonstandard(root, {mark.index for mark in loader.nonstandard_marks}, filename)
    return root


def _warn_nonstandard(root: Node, starts: set[int], filename: str) -> None:
    for node, path in walk_nodes(root):
        if isinstance(node, ScalarNode) and node.start_mark.index in starts:
            mark = node.start_mark
            warnings.warn(
                ScenarioWarning(
                    filename,
                    mark.line + 1,
                    mark.column + 1,
                    path or "<root>",
                    f"unquoted {node.value!r} is not standard YAML (other YAML tools and "
                    f"JSON Schema validators split it), expected it quoted: {_quoted(node.value)}",
                ),
                stacklevel=4,
            )


def walk_nodes(
    root: Node, enter: Callable[[Node], bool] = lambda node: True
) -> Iterator[tuple[Node, str]]:
    """Every node of the tree once (aliases too), in file order, with its key path.

    Keys come with their mapping's path. A node's children are visited only if
    ``enter(node)``; the walk is iterative, so depth is no concern.
    """
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, path
        if not enter(node):
            continue
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                name = key.value if isinstance(key, ScalarNode) else "?"
                stack.append((value, f"{path}.{name}" if path else name))
                stack.append((key, path))
        elif isinstance(node, SequenceNode):
            for index, item in reversed(list(enumerate(node.value))):
                stack.append((item, f"{path}[{index}]"))


def _quoted(text: str) -> str:
    """``text`` as a YAML quoted scalar: double quotes, or single ones if it holds any."""
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    return "'" + text.replace("'", "''") + "'"


def has_standard_tag(node: Node) -> bool:
    return node.tag in ALLOWED_TAGS


def scalar_constructor() -> SafeConstructor:
    """Converts int/float/bool/null scalar nodes (YAML 1.1 spellings) to Python values."""
    return SafeConstructor()


def tag_errors(root: Node, filename: str) -> list[ScenarioError]:
    """Gate 3: one error per node whose tag is not a standard one (each node visited once)."""
    errors: list[ScenarioError] = []
    # Never look inside a rejected node.
    for node, path in walk_nodes(root, enter=has_standard_tag):
        if node.tag not in ALLOWED_TAGS:
            mark = node.start_mark
            errors.append(
                ScenarioError(
                    filename,
                    mark.line + 1,
                    mark.column + 1,
                    path or "<root>",
                    f"YAML tag {_short_tag(node.tag)} is not "
                    "allowed, expected plain values (no tags; only "
                    "!!str, !!int, !!float, !!bool, !!null)",
                )
            )
    return errors


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def load_scenario_data(text: str, filename: str = "<string>") -> Any:
    """A scenario text as plain data (dict/list/str/int/float/bool/None), for tools.

    The same safe path as :func:`load_scenario_text` up to the key table: size, YAML
    syntax, depth and tags are checked, nothing else is constructed. Useful to check a
    file against :func:`~scenegen.scenario.schema.scenario_json_schema`.
    """
    check_scenario_text(text, filename)
    root = compose_scenario(text, filename)
    if root is None:
        return None
    errors = tag_errors(root, filename)
    if errors:
        raise errors[0] if len(errors) == 1 else ScenarioErrors(errors)
    return _plain_data(scalar_constructor(), filename, root, set())


def _plain_data(
    constructor: SafeConstructor,
    filename: str,
    node: Node,
    open_nodes: set[int],
    memo: dict[int, Any] | None = None,
) -> Any:
    """Plain data of a node tree; aliases share one object, so alias bombs stay small."""
    memo = {} if memo is None else memo
    if id(node) in memo:
        return memo[id(node)]
    if id(node) in open_nodes:
        mark = node.start_mark
        raise ScenarioError(
            filename,
            mark.line + 1,
            mark.column + 1,
            YAML_PATH,
            "recursive alias, expected a tree without cycles",
        )
    if isinstance(node, ScalarNode):
        construct = {
            INT: constructor.construct_yaml_int,
            FLOAT: constructor.construct_yaml_float,
            BOOL: constructor.construct_yaml_bool,
            NULL: constructor.construct_yaml_null,
        }.get(node.tag)
        try:
            result = construct(node) if construct else node.value
        except ValueError:  # e.g. an integer too long to convert
            result = node.value
    else:
        open_nodes.add(id(node))
        if isinstance(node, SequenceNode):
            result = [
                _plain_data(constructor, filename, item, open_nodes, memo) for item in node.value
            ]
        else:
            result = {
                str(key.value): _plain_data(constructor, filename, value, open_nodes, memo)
                for key, value in node.value
            }
        open_nodes.discard(id(node))
    memo[id(node)] = result
    return result


# ---------------------------------------------------------------- helpers


def _too_large(filename: str, size: int) -> None:
    raise ScenarioError(
        filename,
        1,
        1,
        FILE_PATH,
        f"file is larger than {MAX_FILE_BYTES} bytes, expected a scenario file of at most 1 MiB",
    )


def _decode(data: bytes, filename: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        _too_large(filename, len(data))
    if b"\x00" in data:
        line, col = _byte_position(data, data.index(b"\x00"))
        raise ScenarioError(
            filename,
            line,
            col,
            FILE_PATH,
            "file contains NUL bytes (binary file?), expected UTF-8 YAML text",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, col = _byte_position(data, error.start)
        raise ScenarioError(
            filename,
            line,
            col,
            FILE_PATH,
            f"byte 0x{data[error.start]:02x} is not valid UTF-8, expected a UTF-8 text file",
        ) from None


def _byte_position(data: bytes, index: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, index) + 1
    return data.count(b"\n", 0, index) + 1, index - line_start + 1


def _position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _limit_error(filename: str, event: yaml.Event, message: str) -> ScenarioError:
    """A resource-limit error positioned at the YAML event that crossed the limit."""
    mark = event.start_mark
    return ScenarioError(filename, mark.line + 1, mark.column + 1, YAML_PATH, message)


def _check_yaml_events(text: str, filename: str) -> None:
    """Syntax, size and nesting depth, from the event stream (no recursion, nothing built)."""
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=_ScenarioYamlLoader):
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_YAML_NODES:
                    raise _limit_error(
                        filename,
                        event,
                        f"the file holds more than {MAX_YAML_NODES} YAML values, "
                        f"expected at most {MAX_YAML_NODES}",
                    )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise _limit_error(
                        filename,
                        event,
                        f"YAML nests deeper than {MAX_YAML_DEPTH} levels, "
                        f"expected at most {MAX_YAML_DEPTH}",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error, filename) from None
    except yaml.reader.ReaderError as error:
        line, col = _position(text, error.position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        raise ScenarioError(
            filename,
            line,
            col,
            YAML_PATH,
            f"control character U+{code:04X} is not allowed in YAML, expected printable text",
        ) from None


def _yaml_error(error: yaml.MarkedYAMLError, filename: str) -> ScenarioError:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    context = f" ({error.context})" if error.context else ""
    return ScenarioError(
        filename,
        line,
        col,
        YAML_PATH,
        f"YAML syntax error: {problem}{context}, expected valid YAML",
    )

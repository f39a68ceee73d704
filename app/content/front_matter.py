"""YAML front matter to its values, and the line and column of each value and key.

Front matter of plain ``key: value`` lines (as the generator and most editors write it) is
read without PyYAML's node tree; anything else goes through PyYAML, whose errors are reported
at their line. Anchors, aliases, duplicate keys and absurdly long numbers are refused.
Comparisons (``parse.py``) and option profiles (``profiles.py``) read front matter here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from app.content.memo import short_memo
from app.content.problems import Collector, shorten

# libyaml's parser is ~10x faster than the pure-Python one and still reports line marks.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loading, except that an impossible date (2026-13-45) stays text.

    PyYAML raises a bare ValueError for those, with no line; kept as text, the field check
    reports it at the field's own line.
    """

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> object:
        """An integer, unless its text is too long to be one anyone means.

        Python refuses to convert integers of over 4,300 digits to or from text (CVE-2020-
        10735), so a 5,001-digit ``title`` raised a bare ValueError from PyYAML (or from
        ``str`` later) with no line. Such a number is refused here, before it is built, at
        its own position; nothing in front matter needs more than a few digits.
        """
        if len(node.value) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number of {len(node.value):,} characters; at most {MAX_NUMBER_CHARS} "
                "(put text in quotes)",
                node.start_mark,
            )
        return super().construct_yaml_int(node)


Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)

# Characters in one YAML integer: far more than any date, count or version number, far fewer
# than the 4,300 digits past which Python refuses to convert (a 100-character sexagesimal or
# hexadecimal number stays well under that).
MAX_NUMBER_CHARS = 100


def read_front_matter(
    source: str, problems: Collector
) -> tuple[dict[str, Any] | None, dict[str, tuple[int, int]]]:
    """Load YAML; marks map each key to the (line, column) of its value in the file."""
    plain = _plain_front_matter(source)
    if plain is not None:
        return plain
    try:
        # Anchors and aliases first, before anything is built: nested aliases expand
        # exponentially (a 414-byte "billion laughs" front matter became a 34.7 MB message).
        # Editors never need them, so they are refused, as Ruby's Psych refuses them unless
        # asked (``YAML.safe_load(aliases: false)``, Rails' default for YAML it did not write).
        # Neither token exists without its "&" or "*" character, so most files skip that
        # extra pass; should building then fail, the pass runs after all, so that a scanner
        # error further on is reported first, exactly as when the pass comes first.
        suspect = "&" in source or "*" in source
        if suspect and _refuse_anchors(source, problems):
            return None, {}
        try:
            node, data = _compose(source)
        except Exception:
            if not suspect:
                _refuse_anchors(source, problems)
            raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 2, mark.column + 1) if mark else (2, 1)
        problems.add(line, column, f"YAML syntax: {exc.problem or exc.context}")
        return None, {}
    except yaml.YAMLError as exc:
        problems.add(2, 1, f"YAML syntax: {exc}")
        return None, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.add(2, 1, "front matter must be a mapping of 'field: value' lines")
        return None, {}
    marks: dict[str, tuple[int, int]] = {}
    duplicate = False
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if "key:" + key in marks:
            # YAML says keys are unique; PyYAML keeps the last silently, so an editor's
            # second "title:" would hide the first. Refused, as ruamel.yaml does by default.
            mark = key_node.start_mark
            problems.add(mark.line + 2, mark.column + 1, f"duplicate key '{shorten(key)}'")
            duplicate = True
            continue
        marks[key] = (value_node.start_mark.line + 2, value_node.start_mark.column + 1)
        marks["key:" + key] = (key_node.start_mark.line + 2, key_node.start_mark.column + 1)
        if isinstance(value_node, yaml.SequenceNode):
            for index, item in enumerate(value_node.value):
                marks[f"{key}[{index}]"] = (item.start_mark.line + 2, item.start_mark.column + 1)
                if isinstance(item, yaml.MappingNode):
                    _mark_mapping(item, f"{key}[{index}]", marks)
        elif isinstance(value_node, yaml.MappingNode):
            _mark_mapping(value_node, key, marks)
    if duplicate:
        return None, {}
    return {str(key): value for key, value in data.items()}, marks


# Front matter as the generator and most editors write it: one "key: value" per line, each
# value one plain scalar or a flow list of plain scalars ("[A, B]"), in printable ASCII with
# none of the characters that can start a comment, a mapping, an anchor or an alias (#, :,
# &, *) and no scalar starting with any other indicator. Such a line means exactly what it
# looks like in YAML, so ``_plain_front_matter`` reads it without building the node tree
# (two thirds of a parse's YAML time); anything else is read by PyYAML as always.


def _plain(excluded: str) -> str:
    """A plain scalar of printable ASCII without ``excluded``: starting with a letter, a digit
    or "(" (no indicator) and not ending in a space (YAML would trim it)."""
    inner = "".join(re.escape(chr(c)) for c in range(0x20, 0x7F) if chr(c) not in excluded)
    last = inner.replace(re.escape(" "), "", 1)
    return rf"[A-Za-z0-9(](?:[{inner}]*[{last}])?"


_PLAIN_SCALAR = _plain("#&*:")
_FLOW_ITEM = _plain("#&*:,[]{}")  # and in a flow list, no "," or bracket
_PLAIN_LINE = re.compile(
    rf"([a-z_][a-z0-9_]{{0,63}}): (?:({_PLAIN_SCALAR})|\[((?:{_FLOW_ITEM})(?:, {_FLOW_ITEM})*)?\])"
)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@functools.cache
def _resolver() -> Loader:
    """A loader used only for its resolver and scalar constructors (no document)."""
    return Loader("")


# Keys, names and dates recur across files: each is resolved once per process.
@short_memo(1 << 14)
def _plain_tag(value: str) -> str:
    """The tag PyYAML resolves a plain scalar to (``Resolver.resolve``, implicit)."""
    resolvers = Loader.yaml_implicit_resolvers.get(value[0])
    if resolvers:
        for tag, regexp in resolvers:
            if regexp.match(value):
                return str(tag)
    return _STR


@short_memo(1 << 12)
def _plain_timestamp(value: str) -> Any:
    """A date (or text, when impossible) as ``Loader`` builds it; dates and datetimes are
    immutable, so one object serves every file of the same day."""
    return _resolver().construct_yaml_timestamp(yaml.ScalarNode(_TIMESTAMP, value))


def _plain_front_matter(source: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]]] | None:
    """The values and marks PyYAML gives front matter of plain lines only (see above), or None
    for any other (then PyYAML reads it): text values as they are, dates built by PyYAML's
    own constructor; a value of any other type, or a key given twice, is left to PyYAML."""
    data: dict[str, Any] = {}
    marks: dict[str, tuple[int, int]] = {}
    for index, line in enumerate(source.split("\n")):
        match = _PLAIN_LINE.fullmatch(line)
        if match is None:
            return None
        key, scalar, items = match.group(1, 2, 3)
        if key in data or _plain_tag(key) != _STR:
            return None
        number = index + 2
        column = len(key) + 3
        if scalar is not None:
            tag = _plain_tag(scalar)
            if tag == _STR:
                value: Any = scalar
            elif tag == _TIMESTAMP:
                value = _plain_timestamp(scalar)
            else:
                return None
            data[key] = value
            marks[key] = (number, column)
            marks["key:" + key] = (number, 1)
            continue
        data[key] = values = []
        marks[key] = (number, column)
        marks["key:" + key] = (number, 1)
        if items is None:
            continue
        # The line matched, so its items are plain scalars without "," joined by ", ", and
        # each starts two characters after the one before it ends.
        start = column  # 0-based, just after the "["
        for position, item in enumerate(items.split(", ")):
            if _plain_tag(item) != _STR:
                return None
            values.append(item)
            marks[f"{key}[{position}]"] = (number, start + 1)
            start += len(item) + 2
    return (data, marks) if data else None


def _refuse_anchors(source: str, problems: Collector) -> bool:
    """Report the first anchor or alias (True), scanning the whole front matter."""
    for token in yaml.scan(source, Loader=Loader):
        if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
            mark = token.start_mark
            problems.add(
                mark.line + 2,
                mark.column + 1,
                "YAML anchors and aliases (&name, *name) are not allowed: write each value out",
            )
            return True
    return False


def _compose(source: str) -> tuple[yaml.Node | None, Any]:
    """The front matter's node tree (for the marks) and the values built from it."""
    loader = Loader(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        try:
            return node, _build_plain(node, loader)
        except Exception:  # anything unusual: PyYAML builds the whole document below
            pass
    finally:
        loader.dispose()
    # PyYAML's own construction, on a fresh loader, so its errors (and their order) are
    # exactly those it always gave.
    loader = Loader(source)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "seq", "map"))


class _NotPlain(Exception):
    """A node ``_build_plain`` leaves to PyYAML: a merge key, a tag, a non-text key."""


def _build_plain(node: yaml.Node, loader: Loader) -> Any:
    """What PyYAML's safe constructor builds from a tree of plain maps, lists and scalars.

    Its constructor defers each nested collection to a queue of generators and calls a
    handler per node; front matter is a few dozen plain nodes, so text values are taken as
    they are and only other scalars (dates, numbers) go through PyYAML's own handlers.
    Anything else (merge keys, explicit tags, non-text keys) raises ``_NotPlain`` and the
    caller lets PyYAML build the whole document.
    """
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        return [_build_plain(item, loader) for item in node.value]
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                raise _NotPlain
            data[key_node.value] = _build_plain(value_node, loader)
        return data
    raise _NotPlain


def _mark_mapping(node: yaml.MappingNode, prefix: str, marks: dict[str, tuple[int, int]]) -> None:
    """Marks of a nested mapping's keys and values: ``prefix.key`` and ``key:prefix.key``."""
    for key_node, value_node in node.value:
        name = f"{prefix}.{key_node.value}"
        marks.setdefault(name, (value_node.start_mark.line + 2, value_node.start_mark.column + 1))
        marks.setdefault(
            "key:" + name, (key_node.start_mark.line + 2, key_node.start_mark.column + 1)
        )

"""The site config edited while the service runs (the Settings page).

``view`` gives the config's JSON Schema and its values merged with the defaults,
every secret masked as ``{"secret": true, "set": ...}``: a ``!secret`` value, or
any field whose name says password, token, secret or API key. Not even a
secret's name leaves the server.

``prepare`` takes an edit as a JSON merge patch (RFC 7396: a value replaces,
``null`` removes the key so the default applies, an object merges into its
section) and checks the result exactly as loading site.yaml does, each problem
naming its field. Secret fields are write-only: a mask or ``""`` keeps what is
stored, text is a new value, kept in secrets.yaml under a stable name
(``amber_api_key``) and referenced from site.yaml as ``!secret amber_api_key``.
A value the form cannot express comes as ``{"$yaml": "text"}`` and replaces
the field whole. However a change arrives, a stored secret is only kept where the
addresses around it (``DESTINATION_KEYS``) stay the same. An edit's size is bounded
before any YAML is read (each text ``MAX_TEXT``, its depth ``MAX_DEPTH``, the whole
``MAX_SITE_BYTES``), and its merge costs time in proportion to its keys. site.yaml
is edited with ruamel.yaml's round trip, so the owner's comments, key order and
layout stay; both files are written atomically.
"""

from __future__ import annotations

import copy
import io
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import CommentMark, MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import (
    AliasToken,
    AnchorToken,
    BlockEndToken,
    BlockMappingStartToken,
    BlockSequenceStartToken,
    CommentToken,
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
    TagToken,
)

from flowengine.atomic import write_atomic
from flowengine.errors import FieldProblem, InvalidRequest, Problem
from flowengine.secrets import attach_secrets, is_secret, load_secrets
from flowengine.summary import is_secret_key
from flowengine.yamlsource import SourceDoc, YamlSyntaxError, parse_text
from powermaster.config import DEFAULTS, SECRETS_FILE, SITE_SCHEMA, check_site_config
from ui.service import SettingsNotApplied  # the UI's protocol says what it is

SECRET_TAG = "!secret"
#: A patch value ``{"$yaml": "..."}``: YAML text for a field the form cannot express.
YAML_TEXT = "$yaml"
#: The longest YAML text taken for one field.
MAX_YAML_TEXT = 20_000
#: The longest text in one field or key of an edit (a name, an address, a path, a key).
MAX_TEXT = 4096
#: The deepest an edit nests (site.yaml's own deepest field is 4 levels down).
MAX_DEPTH = 16
#: The largest site.yaml an edit may write (the demo's is 3 KB).
MAX_SITE_BYTES = 256 * 1024
#: Fields that say where a section's requests go, or how safely (TLS): changing one needs
#: the stored secrets in the same mapping, or one holding it, typed again.
DESTINATION_KEYS = frozenset(
    {
        "base_url",
        "url",
        "host",
        "server",
        "endpoint",
        "port",
        "tls",
        "security",
        "ca_file",
        "certfile",
        "keyfile",
    }
)
MASK_KEYS = {"secret", "set"}
SITE_MODE = 0o644
SECRETS_MODE = 0o600

JsonPath = tuple[str | int, ...]
_MISSING: Any = object()
#: How site.yaml's loader (PyYAML) reads a plain scalar.
_PLAIN_READS_AS = pyyaml.resolver.Resolver()


class InvalidSettings(InvalidRequest):
    """A refused edit: nothing was written, the running config carries on."""


def mask(is_set: bool) -> dict[str, bool]:
    return {"secret": True, "set": is_set}


def is_mask(value: Any) -> bool:
    return isinstance(value, dict) and value.get("secret") is True and set(value) <= MASK_KEYS


def field_name(path: JsonPath) -> str:
    """``("battery", "soc_min")`` -> ``battery.soc_min``; an unknown key's marker dropped."""
    return ".".join(str(part).removeprefix("<key>") for part in path)


# -- the view ------------------------------------------------------------------


def view(
    config: Path, running: Mapping[str, Any], started_with: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The schema, the file's values over the defaults (masked), and which values the
    running service has from elsewhere (``--inverter``, ``--mqtt``, the simulator), with
    what set each where ``started_with`` names it."""
    problems: list[dict[str, str]] = []
    data: Any = {}
    try:
        text = config.read_text(encoding="utf-8")
        data = parse_text(text, config.name).data or {}
        # A hand edit the service refused: the form shows the file, so it says what is
        # wrong with it (the running settings are the last good ones).
        checked = parse_text(text, config.name)
        problems += [
            {"field": "", "message": f"{problem} (refused: the last good settings run)"}
            for problem in check_site_config(checked, config.parent / SECRETS_FILE)
        ]
    except YamlSyntaxError as exc:
        problems.append({"field": "", "message": str(exc.problem)})
    except OSError as exc:
        problems.append({"field": "", "message": f"cannot read {config.name}: {exc.strerror}"})
    if not isinstance(data, dict):
        problems.append({"field": "", "message": f"{config.name} is not a mapping"})
        data = {}
    try:
        attach_secrets(data, load_secrets(config.parent / SECRETS_FILE))
    except (OSError, ValueError, pyyaml.YAMLError) as exc:
        message = f"cannot read {SECRETS_FILE}: {type(exc).__name__}"
        problems.append({"field": "", "message": message})
    values = _over_defaults(data)
    return {
        "file": config.name,
        "schema": write_only(SITE_SCHEMA),
        "values": masked(values),
        "defaults": masked(DEFAULTS),
        "overrides": (overrides := dict(_overrides(values, running))),
        "overridden_by": {
            name: source for name, source in (started_with or {}).items() if name in overrides
        },
        "problems": problems,
    }


def masked(value: Any, name: str = "") -> Any:
    """A copy of config data with every secret as ``{"secret": true, "set": ...}``."""
    if is_secret(value):
        return mask(value._value is not None)
    if name and is_secret_key(name):
        return mask(value not in (None, "", {}, []))
    if isinstance(value, dict):
        return {str(k): masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def write_only(schema: Any, name: str = "") -> Any:
    """A copy of ``schema`` with ``writeOnly: true`` on every secret-named property."""
    if isinstance(schema, list):
        return [write_only(item, name) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: write_only(value, name if key in ("anyOf", "oneOf", "allOf") else "")
        for key, value in schema.items()
        if key != "properties"
    }
    if "properties" in schema:
        out["properties"] = {k: write_only(v, k) for k, v in schema["properties"].items()}
    if name and is_secret_key(name):
        out["writeOnly"] = True
    return out


def _over_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """``config.merge_defaults``, tolerating a section that is not a mapping."""
    merged = copy.deepcopy(DEFAULTS)
    for section, values in data.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section].update(values)
        else:
            merged[section] = values
    return merged


def _overrides(values: Any, running: Any, path: JsonPath = ()) -> Iterator[tuple[str, Any]]:
    """Leaves the running service holds a different value for (never a secret)."""
    if isinstance(values, dict) and isinstance(running, Mapping):
        for key, value in values.items():
            if key in running and not (is_secret_key(str(key)) or is_secret(value)):
                yield from _overrides(value, running[key], (*path, key))
    elif path and not isinstance(values, dict) and values != running and not is_secret(running):
        yield field_name(path), running


# -- an edit -------------------------------------------------------------------


@dataclass
class SiteEdit:
    """A checked edit: the new file texts, the settings they load as, what changed."""

    config: Path
    settings: dict[str, Any]
    changed: list[str]
    site_text: str | None = None
    secrets_text: str | None = None
    old_site: bytes | None = None
    old_secrets: bytes | None = None
    _written: list[Path] = field(default_factory=list)

    @property
    def secrets_file(self) -> Path:
        return self.config.parent / SECRETS_FILE

    def write(self) -> None:
        """Secrets first (a new name is unused until site.yaml names it), then site.yaml."""
        if self.secrets_text is not None:
            write_atomic(self.secrets_file, self.secrets_text, mode=SECRETS_MODE)
            self._written.append(self.secrets_file)
        if self.site_text is not None:
            write_atomic(self.config, self.site_text, mode=_mode_of(self.config, SITE_MODE))
            self._written.append(self.config)

    def undo(self) -> None:
        """Put back what ``write`` replaced (the edit could not be applied)."""
        for path in reversed(self._written):
            old = self.old_site if path == self.config else self.old_secrets
            if old is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, old, mode=_mode_of(path, SITE_MODE))
        self._written.clear()


def _mode_of(path: Path, default: int) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return default


def prepare(config: Path, patch: Any, now: float | None = None) -> SiteEdit:
    """Apply ``patch`` to site.yaml in memory and check the result as loading does;
    ``InvalidSettings`` names each problem's field. Nothing is written here. ``now``: an
    edit of the SOC targets is also checked for a one-off one already past."""
    if not isinstance(patch, dict):
        raise InvalidSettings([FieldProblem("", "the edit must be a JSON object of sections")])
    oversized = _oversized(patch)
    if oversized:
        raise InvalidSettings(oversized)
    yaml = _round_trip()
    old_site = config.read_bytes()
    secrets_file = config.parent / SECRETS_FILE
    old_secrets = secrets_file.read_bytes() if secrets_file.exists() else None
    try:
        document = yaml.load(old_site.decode("utf-8"))
    except YAMLError as exc:
        raise InvalidSettings([FieldProblem("", f"{config.name}: {_yaml_error(exc)}")]) from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise InvalidSettings([FieldProblem("", f"{config.name} is not a mapping")])
    try:
        stored = load_secrets(secrets_file)
    except (OSError, ValueError, pyyaml.YAMLError) as exc:
        message = f"cannot read {SECRETS_FILE}: {type(exc).__name__}"
        raise InvalidSettings([FieldProblem("", message)]) from None
    before = _plain(document)
    editor = _Editor(stored, _references(document))
    editor.merge(document, patch, ())
    after = _plain(document)
    editor.check_destinations(before, after)
    if editor.problems:
        raise InvalidSettings(editor.problems)
    site_text = _dump(yaml, document)
    size = len(site_text.encode("utf-8"))
    if size > MAX_SITE_BYTES and size > len(old_site):
        message = f"{config.name} would be {size // 1024} KiB: at most {MAX_SITE_BYTES // 1024}"
        raise InvalidSettings([FieldProblem("", message + " KiB")])
    try:
        doc = _LocatedDoc.parse(site_text, str(config))
    except YamlSyntaxError as exc:
        raise InvalidSettings([FieldProblem("", exc.problem.message)]) from None
    targets_edited = _soc_targets(before) != _soc_targets(after)
    problems = check_site_config(
        doc, secrets_file, editor.new_secrets, now=now if targets_edited else None
    )
    if problems:
        raise InvalidSettings(
            [FieldProblem(field_name(doc.path_of(p)), p.message) for p in problems]
        )
    changed = _changes(before, after, editor.secret_paths)
    edit = SiteEdit(
        config, _over_defaults(doc.data), changed, old_site=old_site, old_secrets=old_secrets
    )
    if site_text.encode("utf-8") != old_site:
        edit.site_text = site_text
    if editor.new_secrets:
        edit.secrets_text = _secrets_text(old_secrets, editor.new_secrets)
    return edit


def _soc_targets(config: Any) -> Any:
    planner = config.get("planner") if isinstance(config, dict) else None
    return planner.get("soc_targets") if isinstance(planner, dict) else None


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the owner's lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _yaml_error(exc: YAMLError) -> str:
    """A YAML error without the text around it (it may hold a secret)."""
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"YAML syntax: {exc.problem or exc.context or 'invalid YAML'}{where}"
    return "YAML syntax: invalid YAML"


def _secrets_text(old: bytes | None, new: Mapping[str, str]) -> str:
    yaml = _round_trip()
    secrets = yaml.load(old.decode("utf-8")) if old else None
    if not isinstance(secrets, CommentedMap):
        secrets = CommentedMap()
    for name, value in new.items():
        secrets[name] = value
    return _dump(yaml, secrets)


class _LocatedDoc(SourceDoc):
    """A parsed document that remembers the path of every problem it makes."""

    located: dict[int, JsonPath]

    @classmethod
    def parse(cls, text: str, file: str) -> _LocatedDoc:
        parsed = parse_text(text, file)
        doc = cls(parsed.file, parsed.data, parsed.positions)
        doc.located = {}
        return doc

    def problem(self, path: JsonPath, message: str) -> Problem:
        made = super().problem(path, message)
        self.located[id(made)] = path
        return made

    def path_of(self, problem: Problem) -> JsonPath:
        return self.located.get(id(problem), ())


class _Editor:
    """Applies a merge patch to the round-trip document; collects new secrets."""

    def __init__(self, stored: Mapping[str, str], references: dict[str, int]) -> None:
        self.stored = stored
        self.references = references
        self.new_secrets: dict[str, str] = {}
        self.secret_paths: list[str] = []
        self.problems: list[FieldProblem] = []

    def merge(self, target: CommentedMap, patch: Mapping[str, Any], path: JsonPath) -> None:
        for key, value in patch.items():
            where = (*path, key)
            current = target.get(key, _MISSING)
            if value is None:
                target.pop(key, None)
            elif is_mask(value):
                continue  # a write-only field left as it was
            elif isinstance(value, dict) and YAML_TEXT in value:
                self._put(target, key, self._yaml(value[YAML_TEXT], current, where))
            elif (
                isinstance(value, dict)
                and isinstance(current, CommentedMap)
                and not (_secret_field(key, current))
            ):
                self.merge(current, value, where)
            else:
                self._put(target, key, self.replace(current, value, where))

    def replace(self, old: Any, new: Any, path: JsonPath) -> Any:
        """What to store for ``new`` where ``old`` was: masks keep the old value, text in
        a secret field becomes a new secret, unchanged values keep their formatting."""
        name = str(path[-1]) if path else ""
        if _is_ref(new):
            # Only the reference already there: naming another secret here would send
            # it wherever this field goes (an API key moved under an attacker's host).
            if _is_ref(old) and str(old.value) == str(new.value):
                return old
            self.problems.append(
                FieldProblem(
                    field_name(path),
                    "a secret is given by its value here, never by the name of a stored one",
                )
            )
            return old
        if is_mask(new) or (new == "" and _secret_field(name, old)):
            return old
        if _secret_field(name, old):
            if not isinstance(new, str | int | float) or isinstance(new, bool):
                self.problems.append(FieldProblem(field_name(path), "a secret must be text"))
                return old
            return self._secret(path, old, str(new))
        if _plain(old) == _plain(new):
            return old
        if isinstance(new, dict):
            mapping = CommentedMap()
            for key, value in new.items():
                kept = old.get(key, _MISSING) if isinstance(old, dict) else _MISSING
                self._put(mapping, str(key), self.replace(kept, value, (*path, str(key))))
            return _styled_like(mapping, old, top=len(path) == 1)
        if isinstance(new, list):
            items = [
                self.replace(
                    old[i] if isinstance(old, list) and i < len(old) else _MISSING,
                    value,
                    (*path, i),
                )
                for i, value in enumerate(new)
            ]
            seq = CommentedSeq(item for item in items if item is not _MISSING)
            return _styled_like(seq, old, top=len(path) == 1)
        if type(new) is str and not _reads_as_text(new):
            return DoubleQuotedScalarString(new)  # "16:00", "yes": quoted, or read as 960, True
        return new

    def check_destinations(self, before: Any, after: Any) -> None:
        """Refuse each stored secret kept where an address beside it changed (by a field,
        or a whole mapping as ``$yaml``): a stored key is only sent where it was meant to go.
        ``before`` and ``after`` are the document as ``_plain`` data."""
        retyped = set(self.secret_paths)
        before, after = _over_defaults(before), _over_defaults(after)  # unset: its default
        for path in _secrets_in(after):
            moved = None if field_name(path) in retyped else self._moved(before, after, path)
            if moved:
                message = (
                    f"type it again: {field_name(moved)} changed, and a stored secret "
                    "is only sent where it was first meant to go"
                )
                self.problems.append(FieldProblem(field_name(path), message))

    def _moved(self, before: Any, after: Any, secret: JsonPath) -> JsonPath | None:
        """The first changed address in a mapping holding ``secret`` (below the top)."""
        now = {**self.stored, **self.new_secrets}
        for n in range(len(secret) - 1, 0, -1):
            old, new = _at(before, secret[:n]), _at(after, secret[:n])
            for key in sorted(DESTINATION_KEYS):
                if _revealed(_at(old, (key,)), self.stored) != _revealed(_at(new, (key,)), now):
                    return (*secret[:n], key)
        return None

    def _yaml(self, text: Any, old: Any, path: JsonPath) -> Any:
        if not isinstance(text, str):
            self.problems.append(FieldProblem(field_name(path), "expected YAML text"))
            return old
        refused = _unsafe_yaml(text)
        if refused:
            self.problems.append(FieldProblem(field_name(path), refused))
            return old
        try:
            parsed = _round_trip().load(text)
        except YAMLError as exc:
            self.problems.append(FieldProblem(field_name(path), _yaml_error(exc)))
            return old
        if parsed is None and not text.strip():
            return _MISSING  # emptied: back to the default
        oversized = _oversized(_unwrap(parsed), path)
        if oversized:
            self.problems += oversized
            return old
        return self.replace(old, _unwrap(parsed), path)

    def _secret(self, path: JsonPath, old: Any, value: str) -> TaggedScalar:
        """Store ``value`` under the field's own secret name (the one it already has, if
        nothing else uses it; else one made from its path) and refer to it."""
        if _is_ref(old) and self.references.get(str(old.value), 0) <= 1:
            name = str(old.value)
        else:
            base = re.sub(r"[^a-z0-9_]+", "_", "_".join(str(p) for p in path).lower()).strip("_")
            name, n = base or "secret", 1
            while name in self.stored or name in self.references or name in self.new_secrets:
                n += 1
                name = f"{base}_{n}"
        self.new_secrets[name] = value
        self.secret_paths.append(field_name(path))
        return TaggedScalar(name, tag=SECRET_TAG)

    @staticmethod
    def _put(target: CommentedMap, key: str, value: Any) -> None:
        if value is _MISSING:
            target.pop(key, None)
        elif key in target or not target:
            target[key] = value
        else:
            _append(target, key, value)


def _unsafe_yaml(text: str) -> str | None:
    """Why YAML text from the form is not taken: too long, anchors and aliases (a few
    lines can expand to gigabytes), tags (a ``!secret`` naming another secret), or nested
    past ``MAX_DEPTH`` (the parser recurses). Read by the scanner the parser uses."""
    if len(text) > MAX_YAML_TEXT:
        return f"at most {MAX_YAML_TEXT} characters"
    depth = 0
    try:
        for token in _round_trip().scan(text):
            if isinstance(token, AnchorToken | AliasToken):
                return "anchors and aliases (&, *) are not taken here: write the values out"
            if isinstance(token, TagToken):
                return "tags (!...) are not taken here; a secret goes in its own field"
            if isinstance(token, _OPENS):
                depth += 1
                if depth > MAX_DEPTH:
                    return f"nested more than {MAX_DEPTH} deep"
            elif isinstance(token, _CLOSES):
                depth -= 1
    except YAMLError:
        return None  # the parser says what is wrong, at its line
    return None


_OPENS = (
    BlockMappingStartToken,
    BlockSequenceStartToken,
    FlowMappingStartToken,
    FlowSequenceStartToken,
)
_CLOSES = (BlockEndToken, FlowMappingEndToken, FlowSequenceEndToken)


def _oversized(patch: Any, path: JsonPath = ()) -> list[FieldProblem]:
    """What makes an edit too big to take, found before any YAML is read or written:
    text over ``MAX_TEXT`` (``MAX_YAML_TEXT`` for ``$yaml``), nesting past ``MAX_DEPTH``,
    or more than ``MAX_SITE_BYTES`` of keys and values in all."""
    problems: list[FieldProblem] = []
    size = 0
    stack: list[tuple[JsonPath, Any]] = [(path, patch)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            problems.append(
                FieldProblem(field_name(path[:-1]), f"nested more than {MAX_DEPTH} deep")
            )
        elif isinstance(value, dict):
            for key, item in value.items():
                size += len(str(key)) + 4  # "key: " and its line end, at the least
                if len(str(key)) > MAX_TEXT:
                    name = field_name((*path, str(key)[:40]))
                    problems.append(FieldProblem(name, f"a key of at most {MAX_TEXT} characters"))
                else:
                    stack.append(((*path, key), item))
        elif isinstance(value, list):
            size += 2 * len(value)
            stack.extend(((*path, i), item) for i, item in enumerate(value))
        elif isinstance(value, str):
            size += len(value)
            yaml_text = bool(path) and path[-1] == YAML_TEXT
            limit = MAX_YAML_TEXT if yaml_text else MAX_TEXT
            if len(value) > limit:
                where = field_name(path[:-1] if yaml_text else path)
                problems.append(FieldProblem(where, f"at most {limit} characters"))
        else:
            size += 8
    if size > MAX_SITE_BYTES:
        problems.insert(
            0,
            FieldProblem(
                "", f"the edit is over {MAX_SITE_BYTES // 1024} KiB: change a few fields at a time"
            ),
        )
    return problems


def _append(mapping: CommentedMap, key: str, value: Any) -> None:
    """Add a key after the last, above the comment lines and blank lines that follow
    the last one's own line (they belong to what comes next, or to the section's end)."""
    last = next(reversed(mapping))  # O(1): list(mapping)[-1] made N new keys cost N^2
    mapping[key] = value
    entry = mapping.ca.items.get(last)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None:
        return
    own, newline, rest = token.value.partition("\n")
    if rest:
        token.value = own + newline
        mapping.ca.items[key] = [None, None, CommentToken("\n" + rest, CommentMark(0)), None]


def _reads_as_text(text: str) -> bool:
    """Whether site.yaml's loader (PyYAML: YAML 1.1) reads ``text`` written plain as text."""
    tag: str = _PLAIN_READS_AS.resolve(pyyaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == "tag:yaml.org,2002:str"


def _styled_like(new: CommentedMap | CommentedSeq, old: Any, top: bool) -> Any:
    """A new collection in the old one's style: block for block, else on one line in flow
    style (a block under a key would land below the comment lines that follow it); a new
    section in block style."""
    block = isinstance(old, CommentedMap | CommentedSeq) and not old.fa.flow_style()
    if block or (top and old is _MISSING):
        new.fa.set_block_style()
    else:
        new.fa.set_flow_style()
    return new


def _unwrap(value: Any) -> Any:
    """Round-trip data as plain JSON-like data, ``!secret`` references kept as they are."""
    if _is_ref(value):
        return value
    if isinstance(value, dict):
        return {str(k): _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _secrets_in(data: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    """The paths of the secrets in ``_plain`` data: references, and set secret-named keys."""
    if isinstance(data, tuple):
        yield path
    elif isinstance(data, dict):
        for key, value in data.items():
            if is_secret_key(key) and value not in (None, "", {}, []):
                yield (*path, key)
            else:
                yield from _secrets_in(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _secrets_in(value, (*path, i))


def _at(data: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``_plain`` data, or ``_MISSING``."""
    for part in path:
        in_map = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_map or in_list):
            return _MISSING
        data = data[part]
    return data


def _revealed(value: Any, secrets: Mapping[str, str]) -> Any:
    """``_plain`` data with each secret reference as its value (to compare addresses)."""
    if isinstance(value, tuple):
        return ("!secret", secrets.get(value[1]))
    if isinstance(value, dict):
        return {key: _revealed(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_revealed(item, secrets) for item in value]
    return value


def _is_ref(value: Any) -> bool:
    return isinstance(value, TaggedScalar) and str(value.tag) == SECRET_TAG


def _secret_field(name: str, current: Any) -> bool:
    return is_secret_key(name) or _is_ref(current)


def _references(data: Any) -> dict[str, int]:
    """How often each secret name is referred to in the document."""
    counts: dict[str, int] = {}
    stack = [data]
    while stack:
        value = stack.pop()
        if _is_ref(value):
            counts[str(value.value)] = counts.get(str(value.value), 0) + 1
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return counts


def _plain(value: Any) -> Any:
    """Round-trip data as plain data to compare (a secret reference as its name, tagged)."""
    if _is_ref(value):
        return ("!secret", str(value.value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _changes(before: Any, after: Any, secret_paths: list[str], path: JsonPath = ()) -> list[str]:
    """The fields whose value differs, by name (a list counts as one field)."""
    if isinstance(before, dict) or isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        names = [*before, *(k for k in after if k not in before)]
        found = [
            name
            for key in names
            for name in _changes(
                before.get(key, _MISSING), after.get(key, _MISSING), [], (*path, key)
            )
        ]
    else:
        found = [field_name(path)] if before != after else []
    return sorted(set(found) | set(secret_paths)) if not path else found


__all__ = [
    "YAML_TEXT",
    "InvalidSettings",
    "SettingsNotApplied",
    "SiteEdit",
    "masked",
    "prepare",
    "view",
    "write_only",
]

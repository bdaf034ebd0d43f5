"""Loading duty calendars (profiles) from TOML, with every problem reported at once.

A profile file looks like this (see calendars/profiles/*.toml for the shipped ones):

    [profile]
    id = "wujin-2016"
    title = "常州市武进区"
    document = "武组发〔2016〕113号《关于实施党支部规范化建设三年行动计划的意见》"
    extends = "national"

    [[rule]]              # a rule this profile adds
    id = "activist-plan"
    ...

    [[override]]          # fields of an inherited rule that this profile changes
    id = "organizational-life-meeting"
    cadence = "half_year"
    source = "武组发〔2016〕113号 二(三)2"

    [[disable]]           # an inherited rule that does not apply here
    id = "..."
    reason = "..."

    [ladder.default]      # escalation ladders, replaced whole by name
    steps = [{ name = "upcoming", at = "-7d", notify = ["responsible"] }, ...]

    [[advisory]]          # an expected organization shape (组织设置), replaced whole by id; warned, never refused
    id = "groups-needed"
    kinds = ["branch"]
    basis = "members"     # members (党员, 党小组 included) | full_members (正式党员)
    min = 20              # applies from this count on (and/or max = … up to it)
    without_groups = true # only to an organization that has no 党小组
    message = "党员人数在20人以上的党支部应当划分若干党小组"
    source = "海门市级机关党组织示范化建设任务清单 附件 一1"
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calendars import tomlfile
from calendars.model import (
    RECIPIENTS,
    RESPONSIBLES,
    Advisory,
    Applicability,
    Basis,
    Evidence,
    Ladder,
    LadderStep,
    OrgKind,
    Profile,
    Provenance,
    Quorum,
    RecordSpec,
    Role,
    Rule,
    RuleKind,
    Subject,
    Trigger,
    Unit,
)
from calendars.periods import Cadence, Offset, parse_key, period_of
from calendars.problems import Problem, ProblemsError, convert_fields, enum_value, kinds, optional_text, text
from calendars.text import identifier_problem

SHIPPED_DIR = Path(__file__).parent / "profiles"
BASELINE = "national"


class ProfileError(ProblemsError):
    what = "职责日历"


def _problem(file: str, message: str, rule: str | None = None, field: str | None = None) -> Problem:
    return Problem(file, message, f"规则 {rule}" if rule else None, field)


# ---------------------------------------------------------------------------------------------------
# Field converters: each returns the typed value or raises ValueError with a Chinese explanation.


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"应为正整数，而不是 {value!r}")
    return value


def _non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"应为非负整数，而不是 {value!r}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"应为 true 或 false，而不是 {value!r}")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueError(f"应为日期（如 2020-01-01，不加引号），而不是 {value!r}")


def _offset(value: Any) -> Offset:
    if not isinstance(value, str):
        raise ValueError(f"应为时长字符串（如 6m），而不是 {value!r}")
    return Offset.parse(value)


def _due(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"应为字符串，而不是 {value!r}")
    if value in ("end", "start", "anniversary"):
        return value
    if value.startswith("+"):
        Offset.parse(value)
        return value
    try:
        dt.date.fromisoformat(f"2024-{value}")  # a leap year, so 02-29 is accepted
    except ValueError:
        raise ValueError(
            f"无法识别的期限 {value!r}，可选：end（周期末）、start（周期初）、+1m（周期开始后1个月内）、"
            "MM-DD（每年固定日期）、anniversary（入党纪念日）"
        ) from None
    return value


def _table(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("应为表（inline table）")
    return value


_MEMBER_STATUSES = ("full", "probationary")


def _member_status(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value or any(item not in _MEMBER_STATUSES for item in value):
        raise ValueError(f"member_status 应为 {list(_MEMBER_STATUSES)} 中的值组成的列表")
    return frozenset(value)


_APPLIES_TO_FIELDS: dict[str, Callable[[Any], Any]] = {
    "kinds": kinds,
    "min_full_members": _non_negative_int,
    "max_full_members": _non_negative_int,
    "has_groups": _boolean,
    "member_status": _member_status,
}
# A record's evidence: each field a record must show is a flag (so that an override adds or drops one field),
# plus whose quorum, whose seat the lecturer holds, and whether the record is filed with the parent.
_RECORD_FIELDS: dict[str, Callable[[Any], Any]] = {
    **{evidence.value: _boolean for evidence in Evidence if evidence is not Evidence.LECTURER},
    "quorum": enum_value(Quorum, "法定人数要求"),
    "lecturer": enum_value(Role, "主讲人职务"),
    "file_with_parent": _boolean,
}


def _sub_table(spec: dict[str, Callable[[Any], Any]]) -> Callable[[Any], dict[str, Any]]:
    def convert(value: Any) -> dict[str, Any]:
        table = _table(value)
        unknown = sorted(set(table) - set(spec))
        if unknown:
            raise ValueError(f"未知的键 {', '.join(unknown)}，可用：{', '.join(spec)}")
        return {key: spec[key](item) for key, item in table.items()}

    return convert


def _term_years(value: Any) -> dict[OrgKind, int]:
    return {enum_value(OrgKind, "组织类型")(k): _positive_int(v) for k, v in _table(value).items()}


def _term_years_allowed(value: Any) -> dict[OrgKind, tuple[int, ...]]:
    result: dict[OrgKind, tuple[int, ...]] = {}
    for key, years in _table(value).items():
        if not isinstance(years, list) or not years:
            raise ValueError(f"{key} 应为年数列表，如 [2, 3]")
        result[enum_value(OrgKind, "组织类型")(key)] = tuple(_positive_int(year) for year in years)
    return result


def _roles(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise ValueError('应为职务列表，如 ["secretary"]')
    return frozenset(enum_value(Role, "职务")(item).value for item in value)


def _responsible(value: Any) -> str:
    if value not in RESPONSIBLES:
        raise ValueError(f"未知的责任人 {value!r}，可选：{'、'.join(RESPONSIBLES)}")
    return str(value)


def _due_exceptions(value: Any) -> dict[str, dt.date]:
    result: dict[str, dt.date] = {}
    for key, day in _table(value).items():
        parse_key(key)
        result[key] = _date(day)
    return result


_RULE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": text,
    "title": text,
    "kind": enum_value(RuleKind, "规则类型"),
    "cadence": enum_value(Cadence, "周期"),
    "due": _due,
    "due_exceptions": _due_exceptions,
    "trigger": enum_value(Trigger, "触发事件"),
    "offset": _offset,
    "term_years": _term_years,
    "term_years_allowed": _term_years_allowed,
    "trigger_roles": _roles,
    "count": _positive_int,
    "officer_count": _positive_int,
    "unit": enum_value(Unit, "单位"),
    "applies_to": _sub_table(_APPLIES_TO_FIELDS),
    "subject": enum_value(Subject, "对象"),
    "responsible": _responsible,
    "record": _sub_table(_RECORD_FIELDS),
    "ladder": text,
    "source": text,
    "note": optional_text,
    "effective_from": _date,
    "effective_until": _date,
}
# Nested tables that an override merges key by key instead of replacing whole.
_MERGED_FIELDS = ("applies_to", "record", "term_years", "term_years_allowed", "due_exceptions")
_OVERRIDE_FORBIDDEN = ("kind",)
_PROFILE_KEYS = ("id", "title", "document", "extends", "issued", "note")
_TOP_LEVEL_KEYS = ("profile", "rule", "override", "disable", "ladder", "advisory")

_ADVISORY_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": text,
    "kinds": kinds,
    "basis": enum_value(Basis, "计数口径"),
    "message": text,
    "source": text,
    "min": _non_negative_int,
    "max": _non_negative_int,
    "without_groups": _boolean,
}


# ---------------------------------------------------------------------------------------------------
# Raw layers, as read from the files.


@dataclass
class _Layer:
    id: str
    file: str
    title: str
    document: str
    extends: str | None
    rules: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    disables: list[dict[str, Any]] = field(default_factory=list)
    ladders: dict[str, Any] = field(default_factory=dict)
    advisories: list[Any] = field(default_factory=list)


@dataclass
class _Merged:
    """A profile resolved down its chain, still as field dictionaries."""

    chain: tuple[str, ...]
    rules: dict[str, dict[str, Any]]
    origin: dict[str, str]  # rule id -> file that defined it
    provenance: dict[str, list[Provenance]]
    ladders: dict[str, tuple[str, Any]]  # name -> (file, raw)
    disabled: dict[str, str]
    advisories: dict[str, Advisory] = field(default_factory=dict)


def profile_files(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    files = sorted(SHIPPED_DIR.glob("*.toml"))
    for directory in extra_dirs:
        files.extend(sorted(Path(directory).glob("*.toml")))
    return files


def load_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, Profile]:
    """Every profile, shipped and from `extra_dirs`, resolved; ProfileError lists all problems found."""
    problems: list[Problem] = []
    layers: dict[str, _Layer] = {}
    for path in profile_files(extra_dirs):
        layer = _read_layer(path, problems)
        if layer is None:
            continue
        if layer.id in layers and Path(layers[layer.id].file).parent == path.parent:
            problems.append(_problem(str(path), f"职责日历编号 {layer.id} 与 {layers[layer.id].file} 重复"))
            continue
        layers[layer.id] = layer  # a user directory may replace a shipped profile of the same id
    resolver = _Resolver(layers, problems)
    merged = {profile_id: resolver.resolve(profile_id) for profile_id in layers}
    profiles: dict[str, Profile] = {}
    for profile_id, state in merged.items():
        if state is None:
            continue
        profile = _build_profile(layers[profile_id], state, problems)
        if profile is not None:
            profiles[profile_id] = profile
    if problems:
        raise ProfileError(problems)
    return profiles


def load_profile(profile_id: str, extra_dirs: Iterable[Path] = ()) -> Profile:
    profiles = load_profiles(extra_dirs)
    try:
        return profiles[profile_id]
    except KeyError:
        known = "、".join(sorted(profiles))
        raise ProfileError(
            [_problem("职责日历", f"没有编号为 {profile_id} 的职责日历，可选：{known}")]
        ) from None


def _read_layer(path: Path, problems: list[Problem]) -> _Layer | None:
    file = str(path)
    try:
        data = tomlfile.read(path)
    except tomlfile.TomlFileError as error:
        problems.append(_problem(file, str(error).removeprefix(f"{file}：")))
        return None
    for key in sorted(set(data) - set(_TOP_LEVEL_KEYS)):
        problems.append(_problem(file, f"未知的顶层键 {key}，可用：{', '.join(_TOP_LEVEL_KEYS)}"))
    header = data.get("profile")
    if not isinstance(header, Mapping):
        problems.append(_problem(file, "缺少 [profile] 表（至少要有 id 和 title）"))
        return None
    for key in sorted(set(header) - set(_PROFILE_KEYS)):
        problems.append(_problem(file, f"[profile] 中有未知的键 {key}"))
    profile_id = header.get("id")
    if not isinstance(profile_id, str) or not profile_id:
        problems.append(_problem(file, "[profile] 缺少 id"))
        return None
    if identifier := identifier_problem(profile_id):
        problems.append(_problem(file, f"[profile] id：职责日历编号{identifier}"))
        return None
    if not header.get("title"):
        problems.append(_problem(file, "[profile] 缺少 title"))
    extends = header.get("extends")
    if extends is None and profile_id != BASELINE:
        problems.append(
            _problem(file, f"[profile] 缺少 extends（除基线 {BASELINE} 外，每个职责日历都要继承另一个）")
        )
    layer = _Layer(
        id=profile_id,
        file=file,
        title=str(header.get("title", profile_id)),
        document=str(header.get("document", "")),
        extends=str(extends) if extends else None,
    )
    advisories = data.get("advisory", [])
    if isinstance(advisories, list):
        layer.advisories = advisories
    else:
        problems.append(_problem(file, "advisory 应写作 [[advisory]] 表数组"))
    for table, target in (("rule", layer.rules), ("override", layer.overrides), ("disable", layer.disables)):
        entries = data.get(table, [])
        if not isinstance(entries, list):
            problems.append(_problem(file, f"{table} 应写作 [[{table}]] 表数组"))
            continue
        target.extend(entry for entry in entries if isinstance(entry, dict))
    ladders = data.get("ladder", {})
    if isinstance(ladders, dict):
        for name in ladders:
            if identifier := identifier_problem(name):
                problems.append(_problem(file, f"[ladder.{name}]：提醒阶梯名称{identifier}"))
        layer.ladders = {name: raw for name, raw in ladders.items() if identifier_problem(name) is None}
    else:
        problems.append(_problem(file, "ladder 应写作 [ladder.名称] 表"))
    return layer


class _Resolver:
    def __init__(self, layers: dict[str, _Layer], problems: list[Problem]) -> None:
        self.layers = layers
        self.problems = problems
        self.done: dict[str, _Merged | None] = {}
        self.visiting: list[str] = []

    def resolve(self, profile_id: str) -> _Merged | None:
        if profile_id in self.done:
            return self.done[profile_id]
        layer = self.layers[profile_id]
        if profile_id in self.visiting:
            cycle = " → ".join([*self.visiting[self.visiting.index(profile_id) :], profile_id])
            self.problems.append(_problem(layer.file, f"extends 出现循环：{cycle}"))
            return None
        self.visiting.append(profile_id)
        try:
            base = self._base(layer)
            result = None if base is None else self._apply(layer, base)
        finally:
            self.visiting.pop()
        self.done[profile_id] = result
        return result

    def _base(self, layer: _Layer) -> _Merged | None:
        if layer.extends is None:
            return _Merged((), {}, {}, {}, {}, {})
        if layer.extends not in self.layers:
            known = "、".join(sorted(self.layers))
            self.problems.append(
                _problem(layer.file, f"extends 指向不存在的职责日历 {layer.extends}，可选：{known}")
            )
            return None
        parent = self.resolve(layer.extends)
        return None if parent is None else copy.deepcopy(parent)

    def _apply(self, layer: _Layer, state: _Merged) -> _Merged:
        file = layer.file
        state.chain = (layer.id, *state.chain)
        for name, raw in layer.ladders.items():
            state.ladders[name] = (file, raw)
        for raw in layer.advisories:
            advisory = _build_advisory(file, raw, self.problems)
            if advisory is not None:
                state.advisories[advisory.id] = advisory  # an overlay's advisory replaces the parent's
        for raw in layer.rules:
            rule_id = raw.get("id")
            if not isinstance(rule_id, str) or not rule_id:
                self.problems.append(_problem(file, "[[rule]] 缺少 id"))
                continue
            if identifier := identifier_problem(rule_id):
                self.problems.append(_problem(file, f"规则编号{identifier}", rule_id, "id"))
                continue
            if rule_id in state.rules:
                self.problems.append(
                    _problem(
                        file,
                        f"规则已由 {state.origin[rule_id]} 定义；修改继承的规则请用 [[override]]",
                        rule_id,
                    )
                )
                continue
            fields = convert_fields(raw, _RULE_FIELDS, file, f"规则 {rule_id}", self.problems)
            state.rules[rule_id] = fields
            state.origin[rule_id] = file
            state.disabled.pop(rule_id, None)
            state.provenance[rule_id] = [
                Provenance(layer.id, "defined", tuple(sorted(fields)), str(fields.get("source", "")))
            ]
        for raw in layer.overrides:
            rule_id = raw.get("id")
            if not isinstance(rule_id, str) or rule_id not in state.rules:
                chain = " → ".join(state.chain)
                self.problems.append(
                    _problem(file, f"[[override]] 的规则在 {chain} 中都不存在", str(rule_id))
                )
                continue
            for name in _OVERRIDE_FORBIDDEN:
                if name in raw:
                    self.problems.append(_problem(file, "覆盖时不能改变规则类型", rule_id, name))
            if "source" not in raw:
                self.problems.append(_problem(file, "覆盖必须注明依据（文件文号和条款）", rule_id, "source"))
            fields = convert_fields(raw, _RULE_FIELDS, file, f"规则 {rule_id}", self.problems)
            target = state.rules[rule_id]
            for name, value in fields.items():
                if name in _MERGED_FIELDS and isinstance(target.get(name), dict):
                    target[name] = {**target[name], **value}
                elif name not in _OVERRIDE_FORBIDDEN:
                    target[name] = value
            changed = tuple(sorted(set(fields) - {"id"}))
            state.provenance[rule_id].append(
                Provenance(layer.id, "overridden", changed, str(fields.get("source", "")))
            )
        for raw in layer.disables:
            rule_id = raw.get("id")
            reason = raw.get("reason")
            if not isinstance(rule_id, str) or rule_id not in state.rules:
                self.problems.append(_problem(file, "[[disable]] 的规则不存在", str(rule_id)))
                continue
            if not isinstance(reason, str) or not reason.strip():
                self.problems.append(_problem(file, "停用规则必须说明理由", rule_id, "reason"))
            del state.rules[rule_id]
            state.disabled[rule_id] = str(reason or "")
        return state


def _build_profile(layer: _Layer, state: _Merged, problems: list[Problem]) -> Profile | None:
    before = len(problems)
    ladders = {name: _build_ladder(name, file, raw, problems) for name, (file, raw) in state.ladders.items()}
    rules: dict[str, Rule] = {}
    for rule_id, fields in state.rules.items():
        rule = _build_rule(fields, state.origin[rule_id], ladders, problems)
        if rule is not None:
            rules[rule_id] = Rule(**{**rule.__dict__, "provenance": tuple(state.provenance[rule_id])})
    if len(problems) > before:
        return None
    return Profile(
        id=layer.id,
        title=layer.title,
        document=layer.document,
        chain=state.chain,
        rules=rules,
        ladders={name: ladder for name, ladder in ladders.items() if ladder is not None},
        disabled=dict(state.disabled),
        path=layer.file,
        advisories=dict(state.advisories),
    )


def _build_advisory(file: str, raw: Any, problems: list[Problem]) -> Advisory | None:
    where = f"[[advisory]] {raw.get('id', '')}" if isinstance(raw, Mapping) else "[[advisory]]"
    before = len(problems)
    fields = convert_fields(raw, _ADVISORY_FIELDS, file, where, problems)
    for name in ("id", "kinds", "basis", "message", "source"):
        if name not in fields and not (isinstance(raw, Mapping) and name in raw):
            problems.append(Problem(file, "缺少必填字段", where, name))
    if "min" not in fields and "max" not in fields and len(problems) == before:
        problems.append(Problem(file, "至少要有 min 或 max", where))
    if fields.get("min") is not None and fields.get("max") is not None and fields["min"] > fields["max"]:
        problems.append(Problem(file, "min 大于 max", where, "min"))
    if len(problems) > before:
        return None
    return Advisory(**fields)


def _build_ladder(name: str, file: str, raw: Any, problems: list[Problem]) -> Ladder | None:
    where = f"ladder.{name}"
    steps_raw = raw.get("steps") if isinstance(raw, Mapping) else None
    if not isinstance(steps_raw, list) or not steps_raw:
        problems.append(_problem(file, f"[{where}] 需要非空的 steps 列表"))
        return None
    steps: list[LadderStep] = []
    for index, step in enumerate(steps_raw, start=1):
        label = f"[{where}] 第 {index} 步"
        if not isinstance(step, Mapping):
            problems.append(_problem(file, f"{label} 应为表"))
            continue
        try:
            notify = step.get("notify")
            if not isinstance(notify, list) or not notify or any(n not in RECIPIENTS for n in notify):
                raise ValueError(f"notify 应为 {', '.join(RECIPIENTS)} 中的值组成的非空列表")
            title = optional_text(step["label"]) if "label" in step else ""
            steps.append(LadderStep(text(step.get("name")), _offset(step.get("at")), tuple(notify), title))
        except ValueError as error:
            problems.append(_problem(file, f"{label}：{error}"))
    if len(steps) != len(steps_raw):
        return None
    return Ladder(name, tuple(steps))


def _build_rule(
    fields: dict[str, Any], file: str, ladders: Mapping[str, Ladder | None], problems: list[Problem]
) -> Rule | None:
    rule_id = str(fields["id"])
    before = len(problems)

    def need(name: str, why: str) -> None:
        if name not in fields:
            problems.append(_problem(file, f"缺少必填字段（{why}）", rule_id, name))

    def forbid(name: str, why: str) -> None:
        if name in fields:
            problems.append(_problem(file, f"不应出现（{why}）", rule_id, name))

    need("title", "中文名称")
    need("kind", "periodic、event 或 quota")
    need("applies_to", "适用的组织类型")
    need("source", "文件文号和条款，如 武组发〔2016〕113号 二(三)1")
    if "applies_to" in fields and "kinds" not in fields["applies_to"]:
        problems.append(_problem(file, "缺少 kinds（适用的组织类型）", rule_id, "applies_to"))
    kind = fields.get("kind")
    subject = fields.get("subject", Subject.ORG)
    if kind in (RuleKind.PERIODIC, RuleKind.QUOTA):
        need("cadence", "周期性规则需要周期")
        forbid("trigger", "只有 event 规则有触发事件")
        forbid("offset", "只有 event 规则有期限")
    if kind is RuleKind.EVENT:
        need("trigger", "事件规则需要触发事件")
        forbid("cadence", "事件规则没有周期")
        if fields.get("trigger") is Trigger.ELECTION:
            need("term_years", "换届规则需要各类组织的任期年数")
        else:
            need("offset", "事件规则需要期限，如 6m")
    due = fields.get("due", "end")
    cadence = fields.get("cadence")
    if due == "anniversary" and (subject is not Subject.MEMBER or cadence is not Cadence.YEAR):
        problems.append(_problem(file, "anniversary 只用于每年、以每名党员为对象的规则", rule_id, "due"))
    if len(due) == 5 and due[2] == "-" and cadence is not Cadence.YEAR:
        problems.append(_problem(file, "固定日期（MM-DD）只用于每年的规则", rule_id, "due"))
    if "officer_count" in fields and subject is not Subject.MEMBER:
        problems.append(
            _problem(file, "officer_count 只用于以每名党员为对象的规则", rule_id, "officer_count")
        )
    for period_key in fields.get("due_exceptions", {}):
        if (
            cadence is None
            or parse_key(period_key).key != period_key
            or not _key_matches(period_key, cadence)
        ):
            problems.append(_problem(file, f"{period_key} 不是本规则周期的编号", rule_id, "due_exceptions"))
    allowed = fields.get("term_years_allowed", {})
    for org_kind, years in allowed.items():
        default = fields.get("term_years", {}).get(org_kind)
        if default not in years:
            problems.append(
                _problem(file, f"{org_kind.value} 的默认任期 {default} 不在允许值中", rule_id, "term_years")
            )
    ladder_name = fields.get("ladder", "default")
    if ladder_name not in ladders:
        problems.append(
            _problem(file, f"未定义的提醒阶梯 {ladder_name}，可选：{'、'.join(ladders)}", rule_id, "ladder")
        )
    record = fields.get("record", {})
    if record.get("quorum") is not None and not record.get("attendees"):
        problems.append(
            _problem(file, "有法定人数要求的记录须登记参加人员（attendees = true）", rule_id, "record")
        )
    if len(problems) > before:
        return None
    ladder = ladders[ladder_name]
    if ladder is None:  # the ladder's own problem is already reported
        return None
    applies = fields["applies_to"]
    return Rule(
        id=rule_id,
        title=fields["title"],
        kind=fields["kind"],
        applies_to=Applicability(
            kinds=applies["kinds"],
            min_full_members=applies.get("min_full_members"),
            max_full_members=applies.get("max_full_members"),
            has_groups=applies.get("has_groups"),
            member_status=applies.get("member_status"),
        ),
        source=fields["source"],
        ladder=ladder,
        subject=subject,
        responsible=fields.get("responsible", "member" if subject is not Subject.ORG else "secretary"),
        cadence=cadence,
        due=due,
        due_exceptions=fields.get("due_exceptions", {}),
        trigger=fields.get("trigger"),
        offset=fields.get("offset"),
        term_years=fields.get("term_years", {}),
        term_years_allowed=allowed,
        trigger_roles=fields.get("trigger_roles"),
        count=fields.get("count", 1),
        officer_count=fields.get("officer_count"),
        unit=fields.get("unit", Unit.TIMES),
        record=_record_spec(record),
        effective_from=fields.get("effective_from"),
        effective_until=fields.get("effective_until"),
        note=fields.get("note", ""),
    )


_EVIDENCE_KEYS = frozenset(evidence.value for evidence in Evidence)


def _record_spec(record: Mapping[str, Any]) -> RecordSpec:
    lecturer = record.get("lecturer")
    required = {Evidence(key) for key, value in record.items() if key in _EVIDENCE_KEYS and value is True}
    if lecturer is not None:
        required.add(Evidence.LECTURER)  # naming the seat means the record names its lecturer
    return RecordSpec(
        required=frozenset(required),
        quorum=record.get("quorum"),
        lecturer=lecturer,
        file_with_parent=record.get("file_with_parent", False),
    )


def _key_matches(period_key: str, cadence: Cadence) -> bool:
    period = parse_key(period_key)
    return period_of(cadence, period.start) == period

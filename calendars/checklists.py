"""Assessment checklists (考核细则 / 评估表) as data, loaded from TOML and validated with every problem at once.

A checklist transcribes a document's scoring table: sections, items with their requirement, standard and
points, the pass line and the veto items (一票否决). An item that the records can prove names the rule
whose tasks prove it (`rule`); every other item is for a person to judge. A checklist whose document does
not carry its table states so in `note` and lists its checkable duties without points (the score is then a
completion rate, never invented points).

    [checklist]
    id = "wujin-2016"
    title = "武进区党支部规范化建设考核细则"
    profile = "wujin-2016"                 # the duty calendar whose rules the items name
    source = "武组发〔2016〕113号 附件《武进区党支部规范化建设考核细则》"
    applies_to = ["branch"]
    total = 100                            # as the document states it
    pass = 85
    pass_rule = "评分在85分及以上，且无一票否决情况……（备注2）"

    [[section]]
    title = "活动开展有序"
    points = 30
    discrepancy = "……"                    # required when the items do not add up to the section's points

    [[item]]
    id = "general-meeting"
    section = "活动开展有序"
    requirement = "落实“三会一课”制度"
    standard = "每三个月召开一次支部党员大会，内容形式、到会人数符合要求。"
    points = 2
    rule = "general-meeting"               # scored from the records
    related = ["lesson-plan"]              # or: shown beside a judged item as evidence, never scored

    [[veto]]
    id = "secretary-vacant"
    title = "党支部书记缺职"
    check = "secretary-vacant"             # a check the registry can answer; without it: 需人工核实
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from calendars import tomlfile
from calendars.model import OrgKind, Profile, RuleKind
from calendars.problems import Problem, ProblemsError, convert_fields, kinds, optional_text, text

SHIPPED_DIR = Path(__file__).parent / "checklists"

# Veto items the registry can answer, by name; the application implements each (obligations.scoring).
VETO_CHECKS = {
    "secretary-vacant": "党支部书记缺职：书记职位空缺或未设书记职位",
}

_HEADER_KEYS = ("id", "title", "profile", "source", "applies_to", "total", "pass", "pass_rule", "note")
_SECTION_KEYS = ("title", "points", "discrepancy", "note")
_ITEM_KEYS = ("id", "section", "requirement", "standard", "points", "rule", "related", "source", "note")
_VETO_KEYS = ("id", "title", "check", "source")
_TOP_LEVEL_KEYS = ("checklist", "section", "item", "veto")


class ChecklistError(ProblemsError):
    what = "考核细则"


@dataclass(frozen=True)
class Section:
    title: str
    points: Fraction | None
    discrepancy: str = ""  # why the items do not add up to the points the document gives the section
    note: str = ""


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    requirement: str
    standard: str
    points: Fraction | None  # None: the document's table is not available (see Checklist.note)
    rule: str | None = None  # proven by the tasks of this rule
    related: tuple[str, ...] = ()  # records shown beside a judged item, not scored
    source: str = ""
    note: str = ""

    @property
    def label(self) -> str:
        return "—".join(part for part in (self.section, self.requirement) if part)


@dataclass(frozen=True)
class Veto:
    id: str
    title: str
    check: str | None  # a name in VETO_CHECKS, or None: a person must check it
    source: str = ""


@dataclass(frozen=True)
class Checklist:
    id: str
    title: str
    profile: str
    source: str
    applies_to: frozenset[OrgKind]
    total: Fraction | None
    pass_line: Fraction
    pass_rule: str
    note: str
    sections: tuple[Section, ...]
    items: tuple[Item, ...]
    vetoes: tuple[Veto, ...]
    path: str = ""

    @property
    def scored(self) -> bool:
        """Whether the items carry points (False when the document's table is missing)."""
        return any(item.points is not None for item in self.items)

    @property
    def items_total(self) -> Fraction:
        return sum((item.points or Fraction(0) for item in self.items), Fraction(0))

    def section(self, title: str) -> Section | None:
        return next((section for section in self.sections if section.title == title), None)


# ---------------------------------------------------------------------------------------------------
# Field converters: the typed value, or ValueError with a Chinese explanation.


def _points(value: Any) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"应为正数，而不是 {value!r}")
    return Fraction(str(value))


def _rule_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError('应为规则编号组成的非空列表，如 ["lesson-plan"]')
    return tuple(value)


def _check(value: Any) -> str:
    if value not in VETO_CHECKS:
        raise ValueError(f"未知的核查项 {value!r}，可选：{'、'.join(VETO_CHECKS)}")
    return str(value)


_HEADER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": text,
    "title": text,
    "profile": text,
    "source": text,
    "applies_to": kinds,
    "total": _points,
    "pass": _points,
    "pass_rule": optional_text,
    "note": optional_text,
}
_SECTION_FIELDS: dict[str, Callable[[Any], Any]] = {
    "title": text,
    "points": _points,
    "discrepancy": optional_text,
    "note": optional_text,
}
_ITEM_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": text,
    "section": text,
    "requirement": optional_text,
    "standard": text,
    "points": _points,
    "rule": text,
    "related": _rule_ids,
    "source": optional_text,
    "note": optional_text,
}
_VETO_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": text,
    "title": text,
    "check": _check,
    "source": optional_text,
}
assert tuple(_HEADER_FIELDS) == _HEADER_KEYS and tuple(_ITEM_FIELDS) == _ITEM_KEYS
assert tuple(_SECTION_FIELDS) == _SECTION_KEYS and tuple(_VETO_FIELDS) == _VETO_KEYS


def checklist_files(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    files = sorted(SHIPPED_DIR.glob("*.toml"))
    for directory in extra_dirs:
        files.extend(sorted(Path(directory).glob("*.toml")))
    return files


def load_checklists(profiles: Mapping[str, Profile], extra_dirs: Iterable[Path] = ()) -> dict[str, Checklist]:
    """Every checklist, shipped and from `extra_dirs`, checked against `profiles`; ChecklistError lists
    every problem found in every file."""
    problems: list[Problem] = []
    checklists: dict[str, Checklist] = {}
    for path in checklist_files(extra_dirs):
        checklist = _read(path, profiles, problems)
        if checklist is None:
            continue
        if checklist.id in checklists and Path(checklists[checklist.id].path).parent == path.parent:
            problems.append(
                Problem(str(path), f"考核细则编号 {checklist.id} 与 {checklists[checklist.id].path} 重复")
            )
            continue
        checklists[checklist.id] = checklist  # a user directory may replace a shipped checklist
    if problems:
        raise ChecklistError(problems)
    return checklists


def _tables(data: Mapping[str, Any], name: str, file: str, problems: list[Problem]) -> list[Any]:
    entries = data.get(name, [])
    if not isinstance(entries, list):
        problems.append(Problem(file, f"{name} 应写作 [[{name}]] 表数组"))
        return []
    return entries


def _read(path: Path, profiles: Mapping[str, Profile], problems: list[Problem]) -> Checklist | None:
    file = str(path)
    before = len(problems)
    try:
        data = tomlfile.read(path)
    except tomlfile.TomlFileError as error:
        problems.append(Problem(file, str(error).removeprefix(f"{file}：")))
        return None
    for key in sorted(set(data) - set(_TOP_LEVEL_KEYS)):
        problems.append(Problem(file, f"未知的顶层键 {key}，可用：{', '.join(_TOP_LEVEL_KEYS)}"))
    if "checklist" not in data:
        problems.append(Problem(file, "缺少 [checklist] 表"))
        return None
    header = convert_fields(data["checklist"], _HEADER_FIELDS, file, "[checklist]", problems)

    def need(table: Mapping[str, Any], name: str, where: str, why: str) -> None:
        if name not in table:
            problems.append(Problem(file, f"缺少必填字段（{why}）", where, name))

    for name, why in (
        ("id", "考核细则编号"),
        ("title", "中文名称"),
        ("profile", "所依据的职责日历编号"),
        ("source", "文件文号和附件名称"),
        ("applies_to", "适用的组织类型"),
        ("pass", "合格分数线"),
    ):
        need(header, name, "[checklist]", why)
    profile = profiles.get(header.get("profile", ""))
    if "profile" in header and profile is None:
        known = "、".join(sorted(profiles))
        problems.append(
            Problem(file, f"没有职责日历 {header['profile']}，可选：{known}", "[checklist]", "profile")
        )

    sections: list[Section] = []
    for index, raw in enumerate(_tables(data, "section", file, problems), start=1):
        where = f"[[section]] 第{index}项"
        fields = convert_fields(raw, _SECTION_FIELDS, file, where, problems)
        need(fields, "title", where, "部分名称")
        if "title" in fields:
            if any(section.title == fields["title"] for section in sections):
                problems.append(Problem(file, f"部分 {fields['title']} 重复", where, "title"))
            sections.append(
                Section(
                    fields["title"],
                    fields.get("points"),
                    fields.get("discrepancy", ""),
                    fields.get("note", ""),
                )
            )

    items: list[Item] = []
    raw_items = _tables(data, "item", file, problems)
    seen: set[str] = set()
    if not raw_items:
        problems.append(Problem(file, "没有任何 [[item]] 考核项目"))
    for index, raw in enumerate(raw_items, start=1):
        problems_before = len(problems)
        item_id = raw.get("id") if isinstance(raw, Mapping) else None
        where = f"[[item]] {item_id}" if isinstance(item_id, str) and item_id else f"[[item]] 第{index}项"
        fields = convert_fields(raw, _ITEM_FIELDS, file, where, problems)
        need(fields, "id", where, "项目编号")
        need(fields, "section", where, "所属考核项目")
        need(fields, "standard", where, "考核标准原文")
        if "id" in fields:
            if fields["id"] in seen:
                problems.append(Problem(file, f"项目编号 {fields['id']} 重复", where, "id"))
            seen.add(fields["id"])
        if sections and "section" in fields and not any(s.title == fields["section"] for s in sections):
            known = "、".join(section.title for section in sections)
            problems.append(Problem(file, f"没有这个部分，可选：{known}", where, "section"))
        if profile is not None:
            _check_rules([fields["rule"]] if "rule" in fields else [], profile, file, where, "rule", problems)
            _check_rules(list(fields.get("related", ())), profile, file, where, "related", problems)
        if "rule" in fields and "related" in fields:
            problems.append(Problem(file, "计分项目（rule）不另列参考记录（related）", where, "related"))
        if len(problems) == problems_before:
            items.append(
                Item(
                    id=fields["id"],
                    section=fields["section"],
                    requirement=fields.get("requirement", ""),
                    standard=fields["standard"],
                    points=fields.get("points"),
                    rule=fields.get("rule"),
                    related=fields.get("related", ()),
                    source=fields.get("source", ""),
                    note=fields.get("note", ""),
                )
            )

    vetoes: list[Veto] = []
    for index, raw in enumerate(_tables(data, "veto", file, problems), start=1):
        where = f"[[veto]] 第{index}项"
        fields = convert_fields(raw, _VETO_FIELDS, file, where, problems)
        need(fields, "id", where, "否决项编号")
        need(fields, "title", where, "否决情形原文")
        if {"id", "title"} <= set(fields):
            vetoes.append(Veto(fields["id"], fields["title"], fields.get("check"), fields.get("source", "")))

    _check_points(header, sections, items, len(items) == len(raw_items), file, problems)
    if len(problems) > before:
        return None
    return Checklist(
        id=header["id"],
        title=header["title"],
        profile=header["profile"],
        source=header["source"],
        applies_to=header["applies_to"],
        total=header.get("total"),
        pass_line=header["pass"],
        pass_rule=header.get("pass_rule", ""),
        note=header.get("note", ""),
        sections=tuple(sections),
        items=tuple(items),
        vetoes=tuple(vetoes),
        path=file,
    )


def _check_rules(
    rule_ids: list[str], profile: Profile, file: str, where: str, name: str, problems: list[Problem]
) -> None:
    """A rule an item names must be a periodic rule of the checklist's duty calendar."""
    for rule_id in rule_ids:
        rule = profile.rules.get(rule_id)
        if rule is None:
            problems.append(Problem(file, f"职责日历 {profile.id} 中没有规则 {rule_id}", where, name))
        elif rule.kind is not RuleKind.PERIODIC:
            problems.append(
                Problem(
                    file,
                    f"规则 {rule_id} 不是按周期开展的职责（{rule.kind.label}），无法按周期计算完成情况",
                    where,
                    name,
                )
            )


def _check_points(
    header: Mapping[str, Any],
    sections: list[Section],
    items: list[Item],
    complete: bool,
    file: str,
    problems: list[Problem],
) -> None:
    """Points are all there or all absent; what is there must add up, or say why it does not. Sums over
    items are checked only when every item loaded (`complete`): over the rest they would only mislead."""
    with_points = [item for item in items if item.points is not None]
    if not with_points and "total" not in header:
        if not header.get("note"):
            problems.append(
                Problem(
                    file,
                    "各项都没有分值时须在 note 中说明原因（如评估表未随文件收录）",
                    "[checklist]",
                    "note",
                )
            )
        for section in sections:
            if section.points is not None:
                problems.append(
                    Problem(
                        file, "各项都没有分值时部分也不应有分值", f"[[section]] {section.title}", "points"
                    )
                )
        return
    for item in items:
        if item.points is None:
            problems.append(
                Problem(file, "本细则有分值，本项却缺少分值（请照录原文）", f"[[item]] {item.id}", "points")
            )
    total = header.get("total")
    if total is None:
        problems.append(Problem(file, "缺少必填字段（文件标注的总分）", "[checklist]", "total"))
    pass_line = header.get("pass")
    if total is not None and pass_line is not None and pass_line > total:
        problems.append(Problem(file, f"合格线 {pass_line} 高于总分 {total}", "[checklist]", "pass"))
    declared = [section.points for section in sections if section.points is not None]
    if total is not None and len(declared) == len(sections) and sections and sum(declared) != total:
        problems.append(
            Problem(file, f"各部分分值合计 {sum(declared)}，与总分 {total} 不一致", "[checklist]", "total")
        )
    for section in sections:
        if section.points is None or not complete:
            continue
        added = sum((item.points or 0 for item in items if item.section == section.title), Fraction(0))
        where = f"[[section]] {section.title}"
        if added != section.points and not section.discrepancy:
            problems.append(
                Problem(
                    file,
                    f"所列各项分值合计 {added}，与本部分标注的 {section.points} 分不一致；"
                    "如原文如此，请在 discrepancy 中说明",
                    where,
                    "points",
                )
            )
        if added == section.points and section.discrepancy:
            problems.append(
                Problem(
                    file, f"各项分值合计与标注的 {section.points} 分一致，不需要说明", where, "discrepancy"
                )
            )

"""The catalogue of problems found in submitted files: stable ids, Chinese templates.

Tests assert rule ids, not wording. Problems are values in a report, never
exceptions (STYLE.md §6). The README's list of rules is generated from RULES.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RuleInfo:
    """One entry of the catalogue."""

    id: str
    severity: str
    title: str
    template: str  # str.format template; placeholders are documented by the callers


RULES: dict[str, RuleInfo] = {r.id: r for r in (
    # -- the file as a whole
    RuleInfo("file.empty", "error", "空文件", "文件是空的（0 字节），请重新导出后发送。"),
    RuleInfo("file.not_workbook", "error", "不是表格文件",
             "这不是 Excel/WPS 表格（看起来是 {kind}），请把填好的表格另存为 .xlsx 后发送。"),
    RuleInfo("file.corrupt", "error", "文件已损坏", "文件无法打开（{detail}），请用 Excel 或 WPS 重新保存为 .xlsx 后发送。"),
    RuleInfo("file.encrypted", "error", "文件有密码", "文件设置了打开密码，请取消密码后重新发送。"),
    RuleInfo("file.too_large", "error", "文件过大", "文件大小 {size} 超过上限 {limit}，请删去无关内容后发送。"),
    RuleInfo("file.too_many_cells", "error", "单元格过多", "表格含 {cells} 个单元格，超过上限 {limit}，请删去空白行列后发送。"),
    RuleInfo("file.zip_bomb", "error", "解压后过大",
             "文件解压后大小 {size} 超过上限 {limit}，无法安全读取，请另存为普通 .xlsx 后发送。"),
    RuleInfo("file.unknown_form", "error", "无法识别表单",
             "没有找到任何已知表单（{forms}）的表头，请使用下发的模板填写。"),
    RuleInfo("file.unfilled", "error", "表格未填写", "表格是空白模板，没有填写任何数据。"),
    RuleInfo("file.summary", "error", "汇总表不是报表",
             "这是“{unit}”生成的汇总表（截至 {as_of}），其中没有可作为报表上报的表单。"
             "请报送本单位按模板填写的报表。"),
    RuleInfo("file.wrong_form", "error", "表单不符",
             "这是“{found}”，不是要求的“{expected}”，请用“{expected}”的模板填写后发送。"),
    # -- recognising the unit
    RuleInfo("unit.unknown", "error", "无法识别填报单位",
             "“{label}”填的“{value}”不在组织架构中，请填写组织架构中的规范全称{hint}。"),
    RuleInfo("unit.missing", "error", "未填写填报单位", "请填写填报单位的规范全称。"),
    # -- the header and table structure
    RuleInfo("header.missing_column", "error", "缺少列", "表头中没有“{label}”列，请按模板补上这一列。"),
    RuleInfo("header.extra_column", "warning", "多余的列", "“{label}”不是本表的列，汇总时不会读取。"),
    RuleInfo("header.missing_field", "error", "缺少栏目", "没有找到“{label}”一栏，请按模板填写。"),
    RuleInfo("table.total_mismatch", "error", "合计行不符",
             "合计行的“{label}”为 {value}，但上面各行相加为 {expected}，请核对。"),
    # -- single values
    RuleInfo("value.required", "error", "必填项为空", "“{label}”不能为空，请填写{what}。"),
    RuleInfo("value.not_count", "error", "应为非负整数", "“{label}”应填非负整数（如 0、3），现为“{value}”。"),
    RuleInfo("value.not_mark", "error", "标记无效", "“{label}”只能标数字“1”或留空，现为“{value}”。"),
    RuleInfo("value.bad_choice", "error", "选项无效", "“{label}”应从以下选择：{choices}，现为“{value}”。"),
    RuleInfo("value.not_date", "error", "日期无效", "“{label}”应填日期（如 2023-11-15），现为“{value}”。"),
    RuleInfo("value.bad_deadline", "error", "时限无效",
             "“{label}”应填日期（如 2023-12-31、12月底）或“立行立改”“长期坚持”，现为“{value}”。"),
    RuleInfo("value.bad_phone", "warning", "电话号码可疑", "“{label}”“{value}”不像电话号码，请核对。"),
    RuleInfo("value.bad_email", "error", "邮箱无效", "“{label}”“{value}”不是有效的电子邮箱。"),
    RuleInfo("value.formula_no_value", "error", "公式无结果",
             "“{label}”是公式但没有计算结果，请在 Excel 中打开后保存，或直接填写数值。"),
    RuleInfo("value.error_cell", "error", "单元格错误值", "“{label}”显示错误值，请改为正确的数值。"),
    # -- cross-field rules (kinds of sheets/*.yaml rules)
    RuleInfo("rule.sum", "error", "合计不等于各项之和", "“{total}”为 {value}，但{parts}之和为 {expected}。"),
    RuleInfo("rule.at_most", "error", "超过上限", "{parts}为 {value}，超过了“{limit}”的 {expected}。"),
    RuleInfo("rule.exactly_one", "error", "应只标一项", "{fields}中应恰好标一项，现标了 {value} 项。"),
    RuleInfo("rule.requires", "error", "缺少相关内容", "{message}"),
    RuleInfo("rule.not_after", "error", "日期先后不对", "“{field}”{value}晚于“{limit}”{expected}。"),
    RuleInfo("rule.frequency", "warning", "三会一课不正常",
             "“{label}”在 {start} 至 {end} 期间应至少 {expected} 次（{basis}），实际 {value} 次。"),
    RuleInfo("rule.not_decreasing", "warning", "已完成数减少",
             "“{label}”为 {value}，比上周的 {expected} 少，已完成的数字不应减少。"),
    RuleInfo("rule.weekly_delta", "warning", "本周新完成不符",
             "“{label}”为 {value}，但已完成比上周增加了 {expected}。"),
)}


@dataclass(frozen=True)
class Problem:
    """One finding in a submission, pointing at the cell in the original file."""

    rule: str
    message: str
    severity: str = "error"
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None  # the field's full label
    value: str | None = None  # the text as the clerk typed it

    def as_dict(self) -> dict:
        """The JSON shape of `validate --json` (problems[])."""
        d = asdict(self)
        return {k: d[k] for k in ("sheet", "cell", "field", "value", "message", "severity", "rule")}

    @property
    def place(self) -> str:
        """'工作表 Sheet1 单元格 D7' or '' when not tied to a cell."""
        parts = [f"工作表“{self.sheet}”" if self.sheet else "", f"单元格 {self.cell}" if self.cell else ""]
        return " ".join(p for p in parts if p)


def problem(rule: str, *, severity: str | None = None, message: str | None = None,
            sheet: str | None = None, cell: str | None = None, field: str | None = None,
            value: object = None, **params: object) -> Problem:
    """Make a Problem from a catalogue id, filling its message template."""
    info = RULES[rule]
    text = message or info.template.format(value=value if value is not None else "", label=field or "", **params)
    return Problem(rule=rule, message=text, severity=severity or info.severity, sheet=sheet, cell=cell,
                   field=field, value=None if value is None else str(value))

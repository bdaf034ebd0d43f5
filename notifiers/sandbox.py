"""Jinja2's immutable sandbox, bounded: a user template can neither run for ever nor fill the memory.

The sandbox stops a template from reaching what it must not (attributes starting with `_`, changing its
context); it does not stop it from working without end: `{% for i in range(100000) %}{% for j in
range(100000) %}…` is 10^10 turns, `'x' * 10**9` a gigabyte, a macro that calls itself a RecursionError. A
render here (`render`) fails with TemplateLimitError, a TemplateRuntimeError with a Chinese message, when:

- it spends more than WORK_LIMIT units of work: one per loop turn, attribute or item lookup, call and filter,
  plus the length of each string or list a call, filter, operator, comparison or slice is given or makes.
  Work is counted, never timed: the same template fails on the same data whatever the machine's load;
- it writes more than OUTPUT_LIMIT characters (the output is streamed and stopped there, never built whole);
- it would build a string or list longer than OUTPUT_LIMIT: checked before `*` and `%`, before a filter or a
  string's method given a number above the limit (`'x'|center(10**9)`) or a value that, joined or repeated by
  another, would pass it (`range(100000)|join('x' * 999999)`); checked after `~` and `+`, which can at most
  double a value, and after every filter and call;
- calls nest deeper than DEPTH_LIMIT (a macro calling itself), or Python's recursion limit is reached (an
  include of itself).

`range()` keeps Jinja2's own cap (MAX_RANGE items, an OverflowError). Only user templates render here; the
shipped templates are trusted and render in a plain environment, at full speed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

# Per part rendered. A 50-item digest with 20 failures takes about 6 000 units and 57 000 characters (HTML) in
# copies of the shipped templates; 100 000 units are about half a second of macro calls.
WORK_LIMIT = 100_000
OUTPUT_LIMIT = 1_000_000
DEPTH_LIMIT = 40  # nested calls: macros within macros

# A width or precision of a million or more in a %-format or a {}-format spec: '%0999999999d' % 1.
_HUGE_FORMAT = re.compile(r"%[-#0 +]*(?:\d{7,}|\d*\.\d{7,})|\{[^{}]*:[^{}]*\d{7,}")


class TemplateLimitError(TemplateRuntimeError):
    """A user template exceeded a bound; the message says which, in Chinese."""


@dataclass
class _Budget:
    work: int = 0
    depth: int = 0


# The budget of the render under way (None outside `render`, e.g. while a template compiles).
_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def render(template: Template, context: dict[str, Any]) -> str:
    """Render `template` (of a BoundedSandbox) within the bounds; TemplateLimitError past one of them."""
    token = _budget.set(_Budget())
    try:
        chunks: list[str] = []
        written = 0
        for chunk in template.generate(context):
            written += len(chunk)
            if written > OUTPUT_LIMIT:
                raise TemplateLimitError(f"模板输出超过 {OUTPUT_LIMIT} 个字符的上限")
            chunks.append(chunk)
        return "".join(chunks)
    except RecursionError:
        raise TemplateLimitError("模板嵌套过深（宏、包含或循环调用了自身）") from None
    finally:
        _budget.reset(token)


def _spend(units: int) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.work += units
    if budget.work > WORK_LIMIT:
        raise TemplateLimitError(f"模板的计算量超过 {WORK_LIMIT} 步的上限（循环过多或过大）")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset, range)) else 0


def _check_size(value: Any) -> Any:
    if _size(value) > OUTPUT_LIMIT:
        raise TemplateLimitError(f"模板生成的文本或列表超过 {OUTPUT_LIMIT} 个字符（项）的上限")
    return value


def _check_product(subject: Any, arguments: Iterable[Any]) -> None:
    """Refuse before it is built what could join or repeat one value by another past the limit:
    `range(100000)|join('x' * 999999)`, `big.replace('x', 'yy')`. An iterator's length is unknown: it is
    taken as UNSIZED_GUESS items, so at most 10 times the limit is ever built before the check after it."""
    for argument in arguments:
        for one, other in ((subject, argument), (argument, subject)):
            if _count(one) * _size(other) > OUTPUT_LIMIT:
                raise TemplateLimitError(f"模板生成的文本或列表超过 {OUTPUT_LIMIT} 个字符（项）的上限")


UNSIZED_GUESS = 10_000


def _count(value: Any) -> int:
    return _size(value) or (UNSIZED_GUESS if isinstance(value, Iterator) else 0)


def _check_number(value: Any) -> None:
    if isinstance(value, int) and abs(value) > OUTPUT_LIMIT:
        raise TemplateLimitError(f"模板中的宽度或次数 {value} 超过 {OUTPUT_LIMIT} 的上限")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _HUGE_FORMAT.search(text):
        raise TemplateLimitError(f"格式字符串中的宽度或精度超过 {OUTPUT_LIMIT} 的上限")


def _bounded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    # Filters marked pass_context / pass_environment / pass_eval_context get that first: skip it.
    value_at = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)  # keeps jinja_pass_arg
    def bounded(*args: Any, **kwargs: Any) -> Any:
        arguments = (*args[value_at + 1 :], *kwargs.values())
        for argument in arguments:
            _check_number(argument)
        if len(args) > value_at:
            _check_product(args[value_at], arguments)
        if function.__name__ == "do_format" and len(args) > value_at:
            _check_format(args[value_at])
        _spend(1 + sum(_size(argument) for argument in args))
        return _check_size(function(*args, **kwargs))

    return bounded


class _Bounding(NodeTransformer):
    """Rewrites a template's tree: every loop iterates through `counted_iter`, every `~` is size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _environment_call("counted_iter", node.iter)
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        # `'y' in text` and `a == b` walk their operands: each pays its length.
        self.generic_visit(node)
        node.expr = _environment_call("charged", node.expr)
        for operand in node.ops:
            operand.expr = _environment_call("charged", operand.expr)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _environment_call("checked_size", node)


def _environment_call(method: str, argument: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(method), [argument], [], None, None)
    call.set_lineno(argument.lineno)
    return call


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        _Bounding().visit(node)
        super().visit_Template(node, frame)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox that counts the work of a template; render with `render` to apply the bounds."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded_filter(function) for name, function in self.filters.items()}
        # lipsum(10**9) writes a billion paragraphs of filler; no reminder needs it.
        del self.globals["lipsum"]

    def counted_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for value in iterable:
            _spend(1)
            yield value

    def charged(self, value: Any) -> Any:
        _spend(_size(value))
        return value

    def checked_size(self, value: Any) -> Any:
        _spend(_size(value))
        return _check_size(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _spend(1)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend(1)
        value = super().getitem(obj, argument)
        if isinstance(argument, slice):  # a slice is a copy
            _spend(_size(value))
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if _size(sized) and isinstance(times, int) and _size(sized) * times > OUTPUT_LIMIT:
                    raise TemplateLimitError(f"模板生成的文本或列表超过 {OUTPUT_LIMIT} 个字符（项）的上限")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if abs(left).bit_length() * right > 4 * OUTPUT_LIMIT:
                raise TemplateLimitError("模板中的乘方结果过大")
        elif operator == "%":
            _check_format(left)
        result = super().call_binop(context, operator, left, right)
        _spend(1 + _size(result))
        return _check_size(result)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # A method's own object counts too ('x…'.replace(…)); str.format comes wrapped by the sandbox.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        _spend(1 + sum(_size(argument) for argument in args) + _size(owner))
        if getattr(__obj, "__name__", None) in ("format", "format_map"):
            _check_format(owner)
        if _size(owner):  # a method of a string or a list: 'x'.center(10**9), sep.join(…)
            for argument in (*args, *kwargs.values()):
                _check_number(argument)
            _check_product(owner, (*args, *kwargs.values()))
        budget = _budget.get()
        if budget is None:
            return super().call(__context, __obj, *args, **kwargs)
        budget.depth += 1
        try:
            if budget.depth > DEPTH_LIMIT:
                raise TemplateLimitError(f"模板的宏或调用嵌套超过 {DEPTH_LIMIT} 层（宏调用了自身？）")
            return _check_size(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1

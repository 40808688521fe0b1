"""The Jinja2 environment for marketer templates and conditions: Jinja2's sandbox plus the
resource limits of ``orchestrator.language.limits``, on Jinja2's public API only.

Where the limits hook in: arithmetic and repetition (``intercepted_binops``, ``call_binop``),
every call and method (``call``: sizes before and after), ``str.format`` (``wrap_str_format``:
widths), every filter
(wrapped where the environment registers it), attribute and item lookups, and every piece of
output (``finalize``). What has no hook of its own is added to the template's syntax tree before
it compiles (``compile``, with public ``jinja2.nodes``): each ``for`` iterable goes through
a counter of iterations, each ``~`` through a size check, and template text is counted before
each output (a loop repeats it as often as its expressions). Each of these
also checks the clock.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from types import CodeType
from typing import Any, Literal, overload

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from orchestrator.language.limits import (
    LimitExceeded,
    check_brace_format,
    check_operation,
    check_percent_format,
    check_size,
    current,
    limits,
    weight,
)

#: str methods whose first argument is the width of the result.
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_call(obj: Any, args: tuple[Any, ...]) -> None:
    """Size checks before a method call on a string (``call`` checks the result's size)."""
    owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    cap = limits().max_size
    if name in _WIDTH_METHODS and args and isinstance(args[0], int) and args[0] > cap:
        raise LimitExceeded("size", f"{name}({args[0]:,}) makes more than {cap:,} characters")
    tabs = args[0] if name == "expandtabs" and args and isinstance(args[0], int) else 0
    if tabs and owner.count("\t") * tabs > cap:
        raise LimitExceeded("size", f"expandtabs makes more than {cap:,} characters")
    if name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1])
    if name == "join" and args:
        _check_join(args[0], owner)


def _check_replace(s: Any, old: Any, new: Any) -> None:
    if not all(isinstance(v, str) for v in (s, old, new)):
        return
    hits = s.count(old) if old else len(s) + 1
    if len(s) + hits * max(len(new) - len(old), 0) > limits().max_size:
        raise LimitExceeded("size", f"replace makes more than {limits().max_size:,} characters")


def _check_join(items: Any, separator: Any) -> None:
    if isinstance(items, (list, tuple)):
        cap = limits().max_size
        total = weight(list(items), cap) + len(str(separator)) * len(items)
        if total > cap:
            raise LimitExceeded("size", f"join makes more than {cap:,} characters")


def _filter_checks(name: str, args: dict[str, Any]) -> None:
    """Size checks before the built-in filters that can make more than they were given."""
    cap = limits().max_size
    if name == "center":
        width = args.get("width", 80)
        if isinstance(width, int) and width > cap:
            raise LimitExceeded("size", f"center({width:,}) makes more than {cap:,} characters")
    elif name == "indent":
        s, width = str(args.get("s", "")), args.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        if len(s) + (s.count("\n") + 1) * pad > cap:
            raise LimitExceeded("size", f"indent makes more than {cap:,} characters")
    elif name == "replace":
        _check_replace(args.get("s"), args.get("old"), args.get("new"))
    elif name == "join":
        _check_join(args.get("value"), args.get("d", ""))
    elif name == "wordwrap":
        s, wrap = str(args.get("s", "")), args.get("wrapstring") or "\n"
        if len(s) * (len(str(wrap)) + 1) > cap:
            raise LimitExceeded("size", f"wordwrap makes more than {cap:,} characters")
    elif name in ("batch", "slice"):
        count = args.get("linecount", args.get("slices", 1))
        if isinstance(count, int) and count > cap:
            raise LimitExceeded("size", f"{name}({count:,}) makes more than {cap:,} items")
    elif name == "format":
        check_percent_format(str(args.get("value", "")))


#: Built-in filters that can make more than they were given: checked before they run.
_GROWING_FILTERS = frozenset(
    {"center", "indent", "replace", "join", "wordwrap", "batch", "slice", "format"}
)


def _limited_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # Arguments by name without inspect's bind, which costs more than most filters.
    params = inspect.signature(func).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    what = f"filter {name!r}"

    @wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        current().tick()
        if name in _GROWING_FILTERS:
            if name == "join" and "value" in positional[: len(args)]:
                at = positional.index("value")
                args = (*args[:at], list(args[at]), *args[at + 1 :])
            _filter_checks(
                name, {**defaults, **dict(zip(positional, args, strict=False)), **kwargs}
            )
        return check_size(func(*args, **kwargs), what)

    return limited


def _emitted(size: int) -> None:
    budget = current()
    budget.emit(size)
    budget.tick()


# The hooks the syntax tree gets are filters under names no template can write (so only
# ``_limited`` puts them there): the generated code calls a filter directly, where a call
# node would go through the sandbox's ``call`` on every iteration (six times slower).
# ``pass_context`` keeps Jinja from running them once at compile time on a constant.
@pass_context
def _counted_text(_: Context, size: int) -> str:
    _emitted(size)
    return ""


@pass_context
def _sized(_: Context, value: Any) -> Any:
    current().tick()
    return check_size(value)


@pass_context
def _counted_iterations(_: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    budget = current()
    for item in iterable:
        budget.iteration()
        yield item


_HOOKS: dict[str, Callable[..., Any]] = {
    "omni:iterations": _counted_iterations,
    "omni:size": _sized,
    "omni:text": _counted_text,
}


def _hook(name: str, argument: nodes.Node, lineno: int) -> nodes.Filter:
    hooked = nodes.Filter(argument, name, [], [], None, None)
    hooked.set_lineno(lineno)
    return hooked


def _template_text(output: nodes.Output) -> int:
    return sum(
        len(child.data) if isinstance(child, nodes.TemplateData) else len(str(child.value))
        for child in output.nodes
        if isinstance(child, (nodes.TemplateData, nodes.Const))
    )


def _limited(node: nodes.Node) -> nodes.Node | list[nodes.Node]:
    """``node`` (children first) with its loops, ``~`` and template text routed through the
    render's budget; an ``Output`` becomes [its text's count, itself]."""
    for name, value in node.iter_fields():
        if isinstance(value, list):
            changed: list[Any] = []
            for item in value:
                done = _limited(item) if isinstance(item, nodes.Node) else item
                changed.extend(done if isinstance(done, list) else [done])
            setattr(node, name, changed)
        elif isinstance(value, nodes.Node):
            setattr(node, name, _limited(value))
    if isinstance(node, nodes.For):
        node.iter = _hook("omni:iterations", node.iter, node.iter.lineno)
    elif isinstance(node, nodes.Concat):
        return _hook("omni:size", node, node.lineno)
    elif isinstance(node, nodes.Output):
        text = _template_text(node)
        if text:
            count = _hook("omni:text", nodes.Const(text), node.lineno)
            return [nodes.ExprStmt(count).set_lineno(node.lineno), node]
    return node


class LimitedEnvironment(SandboxedEnvironment):
    """``SandboxedEnvironment`` with ``StrictUndefined`` and the resource limits. ``clean``,
    if given, rewrites every value a template outputs (after it is counted)."""

    intercepted_binops = frozenset({"**", "*", "+", "%", "//", "/", "-"})

    def __init__(self, *, autoescape: bool, clean: Callable[[Any], Any] | None = None) -> None:
        self._clean = clean
        super().__init__(
            undefined=StrictUndefined,
            autoescape=autoescape,
            keep_trailing_newline=False,
            finalize=self._finalize,
        )
        self.globals.pop("lipsum", None)  # lipsum(10**6) would write a book
        self.filters = {name: _limited_filter(name, f) for name, f in self.filters.items()}
        self.filters.update(_HOOKS)

    @overload
    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: Literal[False] = False,
        defer_init: bool = False,
    ) -> CodeType: ...

    @overload
    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: Literal[True] = ...,
        defer_init: bool = False,
    ) -> str: ...

    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> str | CodeType:
        """Every template and expression compiles here (``from_string``, ``compile_expression``
        and loaders included): its syntax tree gets the limits' hooks first."""
        tree = self.parse(source, name, filename) if isinstance(source, str) else source
        limited = _limited(tree)
        assert isinstance(limited, nodes.Template)
        return super().compile(limited, name, filename, raw, defer_init)  # type: ignore[call-overload, no-any-return]

    def _finalize(self, value: Any) -> Any:
        self.emitted(len(value) if isinstance(value, str) else len(str(value)))
        return self._clean(value) if self._clean is not None else value

    def emitted(self, size: int) -> None:
        """Count output made outside a template's own (e.g. WhatsApp's template variables)."""
        _emitted(size)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current().tick()
        check_operation(operator, left, right)
        return check_size(super().call_binop(context, operator, left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        current().tick()
        if isinstance(obj, dict):
            return self._field(obj, attribute)
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """Say what is off limits in the marketer's words, without Jinja's internals."""
        return self.undefined(
            f"templates cannot access `{attribute}`", obj=obj, name=attribute, exc=SecurityError
        )

    def getitem(self, obj: Any, argument: Any) -> Any:
        current().tick()
        if isinstance(obj, dict) and isinstance(argument, str):
            return self._field(obj, argument)
        return super().getitem(obj, argument)

    def _field(self, obj: dict[str, Any], name: str) -> Any:
        """Data, never a dict method: ``cart.items`` is the cart's items or a clear error,
        not ``dict.items`` (iterate a mapping with the ``items`` filter)."""
        if name in obj:
            return obj[name]
        if name.startswith("_"):  # never data: an escape attempt, said as such
            return self.unsafe_undefined(obj, name)
        present = ", ".join(sorted(str(k) for k in obj)[:12]) or "nothing"
        hint = f"{name!r} is missing from the data (it has: {present})"
        return self.undefined(hint=hint, obj=obj, name=name)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """The sandbox's ``str.format`` (given at attribute access), with widths checked before
        it runs and the result's size after."""
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        check_brace_format(value.__self__)
        sandboxed = wrapper

        @wraps(sandboxed)
        def limited(*args: Any, **kwargs: Any) -> str:
            result: str = check_size(sandboxed(*args, **kwargs), "formatted text")
            return result

        return limited

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        current().tick()
        _check_call(__obj, args)
        result = check_size(super().call(__context, __obj, *args, **kwargs))
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (list, dict, set)):
            check_size(owner, "a list or dict grown in the template")  # append, extend, update
        return result

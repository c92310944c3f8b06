"""A restricted evaluator for the conditions of gateways (``days > 3 and outcome == "approve"``).

SpiffWorkflow evaluates conditions with Python's ``eval`` and runs script tasks with ``exec``,
which is no sandbox (DESIGN.md §4). Here a condition is parsed with ``ast`` and the tree is
walked node by node: only literals, names of workflow data, comparisons, boolean logic,
arithmetic without powers, conditional expressions, subscripts and a few pure functions are
known. Anything else — attribute access, imports, lambdas, comprehensions, names starting
with an underscore, calls of anything but the functions below — is refused before a single
node is evaluated, so nothing of Python but this evaluator ever runs."""

import ast
import math
import operator

from django.utils.translation import gettext as _

MAX_LENGTH = 1000
MAX_NODES = 200
MAX_SEQUENCE = 10_000  # longest string or list a repetition may build

FUNCTIONS = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
}
CONSTANT_NAMES = {"true": True, "false": False, "null": None}

BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
UNARY = {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos}
COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
    ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.Set, ast.Subscript, ast.Call,
    *BINARY, *UNARY, *COMPARE,
)


class ExpressionError(ValueError):
    """A condition that is not allowed or cannot be evaluated; the message is translated."""


def parse(expression):
    """The checked syntax tree of `expression`; raises ExpressionError when it is not allowed."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError(_("A condition is empty."))
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(_("A condition is longer than %(limit)d characters.") % {"limit": MAX_LENGTH})
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(_("The condition “%(expression)s” is not a valid expression: %(error)s") % {"expression": expression, "error": error.msg}) from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(_("The condition “%(expression)s” is too complex.") % {"expression": expression})
    for node in nodes:
        if not isinstance(node, ALLOWED_NODES):
            raise ExpressionError(
                _("The condition “%(expression)s” uses “%(element)s”, which conditions may not use: only data fields, values, comparisons, and/or/not, arithmetic and the functions %(functions)s are allowed.")
                % {"expression": expression, "element": type(node).__name__, "functions": ", ".join(sorted(FUNCTIONS))}
            )
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(_("The condition “%(expression)s” uses the name “%(name)s”; names may not start with an underscore.") % {"expression": expression, "name": node.id})
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                raise ExpressionError(_("The condition “%(expression)s” calls something other than the functions %(functions)s.") % {"expression": expression, "functions": ", ".join(sorted(FUNCTIONS))})
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ExpressionError(_("The condition “%(expression)s” holds a value of an unsupported type.") % {"expression": expression})
    return tree


def check(expression):
    """Raise ExpressionError unless `expression` is an allowed condition."""
    parse(expression)


def evaluate(expression, data):
    """The value of `expression` over the workflow data `data` (a dict)."""
    tree = parse(expression)
    try:
        return _Evaluator(expression, data).visit(tree.body)
    except ExpressionError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, KeyError, IndexError, OverflowError) as error:
        raise ExpressionError(_("The condition “%(expression)s” could not be evaluated: %(error)s") % {"expression": expression, "error": error}) from None


class _Evaluator:
    def __init__(self, expression, data):
        self.expression = expression
        self.data = data

    def visit(self, node):
        return getattr(self, f"visit_{type(node).__name__}")(node)

    def visit_Constant(self, node):
        return node.value

    def visit_Name(self, node):
        if node.id in self.data:
            return self.data[node.id]
        if node.id in CONSTANT_NAMES:
            return CONSTANT_NAMES[node.id]
        if node.id in FUNCTIONS:
            return FUNCTIONS[node.id]
        raise ExpressionError(_("The condition “%(expression)s” uses the field “%(name)s”, which the process data does not have.") % {"expression": self.expression, "name": node.id})

    def visit_List(self, node):
        return [self.visit(element) for element in node.elts]

    def visit_Tuple(self, node):
        return tuple(self.visit(element) for element in node.elts)

    def visit_Set(self, node):
        return {self.visit(element) for element in node.elts}

    def visit_BoolOp(self, node):
        if isinstance(node.op, ast.And):
            value = True
            for operand in node.values:
                value = self.visit(operand)
                if not value:
                    return value
            return value
        value = False
        for operand in node.values:
            value = self.visit(operand)
            if value:
                return value
        return value

    def visit_UnaryOp(self, node):
        return UNARY[type(node.op)](self.visit(node.operand))

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Mult):
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) and len(sequence) * times > MAX_SEQUENCE:
                    raise ExpressionError(_("The condition “%(expression)s” builds too long a value.") % {"expression": self.expression})
        result = BINARY[type(node.op)](left, right)
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_SEQUENCE:
            raise ExpressionError(_("The condition “%(expression)s” builds too long a value.") % {"expression": self.expression})
        if isinstance(result, float) and not math.isfinite(result):
            raise ExpressionError(_("The condition “%(expression)s” gives a number that is not finite.") % {"expression": self.expression})
        return result

    def visit_Compare(self, node):
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.visit(comparator)
            if not COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node):
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node):
        container = self.visit(node.value)
        if not isinstance(container, (dict, list, tuple, str)):
            raise ExpressionError(_("The condition “%(expression)s” reads an item of something that has no items.") % {"expression": self.expression})
        return container[self.visit(node.slice)]

    def visit_Call(self, node):
        function = FUNCTIONS[node.func.id]
        arguments = [self.visit(argument) for argument in node.args]
        if function in (int, float, str) and any(isinstance(argument, (dict, list, tuple, set)) for argument in arguments):
            raise ExpressionError(_("The condition “%(expression)s” converts a collection.") % {"expression": self.expression})
        return function(*arguments)

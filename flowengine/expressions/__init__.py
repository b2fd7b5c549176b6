"""Expressions and ``{{ }}`` templates in flow files, evaluated in a sandbox.

Home Assistant's choice: Jinja2's ``ImmutableSandboxedEnvironment`` (no ``_``
attributes, nothing that mutates, no imports), narrowed further so an expression
is also bounded in time and memory: no statements but ``{% if %}``, no filters
that repeat their input (``center``, ``indent``, ``format``, ``slice`` ...), a
``range`` of at most 10,000, strings and lists made by ``*`` ``+`` ``~`` at most
100,000 long, ``**`` on small numbers only, and method calls only from a short
list of harmless ones (``lower``, ``split``, ``get``, ``isoformat`` ...).

Durations may be written as in YAML: ``now + 1h``, ``30m``, ``1h30m``.

Expressions see ``payload``, ``topic``, ``msg``, ``flow`` and ``global`` (the
context, read-only), ``now`` (the engine's clock in the site's zone),
``settings`` (the site config; secrets show only their names) and ``env``
(environment variables whose names start with ``POWER_MASTER_``).
docs/writing-flows.md lists every name, filter and refused construct.
"""

from flowengine.expressions.errors import ExpressionError
from flowengine.expressions.language import (
    Expression,
    Template,
    check_expression,
    check_template,
    context_reads,
    expression_fields,
    is_template,
)
from flowengine.expressions.sandbox import MAX_ITEMS
from flowengine.expressions.scope import ContextView, Scope, environment_view, scope_for
from flowengine.expressions.values import plain, to_epoch

__all__ = [
    "MAX_ITEMS",
    "ContextView",
    "Expression",
    "ExpressionError",
    "Scope",
    "Template",
    "check_expression",
    "check_template",
    "context_reads",
    "environment_view",
    "expression_fields",
    "is_template",
    "plain",
    "scope_for",
    "to_epoch",
]

"""Health: is control sound (ok, degraded, safety), and why.

A library, with no node types of its own: ``checks`` judges, ``site`` is the
site config's ``health`` section. The node that runs the checks every tick is
``control.health`` (``nodes.control.health``), and ``nodes.control`` registers
it together with this section.
"""

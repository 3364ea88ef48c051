"""Syncs and migrations: make entries' cue points equal a table, copy cue points between entries and partners.

* :func:`plan` / :meth:`Plan.apply`: a table is the desired state of some entries (docs/migrations.md);
* :func:`copy`: every cue point of mapped entries, to another entry, partner or service, with parent
  links remapped, stable keys and time remapping; a :class:`CopyReport` says what went where;
* :func:`check`: what would surprise a user after a push, per row, before anything is sent.
"""

from .apply import apply_plan, check_fresh
from .check import CheckReport, Issue, check
from .copy import CopyError, CopyReport, copy, stable_key
from .plan import ApplyResult, Change, Plan, PlanError, Problem, StalePlanError, plan
from .timemap import TimeMap, TimeMapError, parse_duration_ms, parse_segments
from .typed import TypedWrite, typed_writes, write_typed

__all__ = [
    "CheckReport",
    "Issue",
    "check",
    "CopyError",
    "CopyReport",
    "TimeMap",
    "TimeMapError",
    "copy",
    "parse_duration_ms",
    "parse_segments",
    "stable_key",
    "ApplyResult",
    "Change",
    "Plan",
    "PlanError",
    "Problem",
    "StalePlanError",
    "TypedWrite",
    "apply_plan",
    "check_fresh",
    "plan",
    "typed_writes",
    "write_typed",
]

"""Who may do what to which object: the one place where access is decided.

``can(user, action, obj)`` is used by views (403 when it says no), by templates (to show a
button or not) and by the API. Each rule is a small function registered for an object type and
an action; an unregistered pair is refused, so forgetting a rule fails closed.

The rules themselves live beside their models, in each feature's ``policy.py``, which names its
actions as a ``StrEnum`` (the members are the action strings, so templates may keep writing
``can('view', obj)``). ``create_app`` imports every feature's policy; this module imports none.
"""

from collections.abc import Callable
from typing import Any

from flask import abort
from flask_login import AnonymousUserMixin

from consult.core.enums import MembershipRole, UserRole

Rule = Callable[[Any, Any], bool]
_RULES: dict[tuple[type | None, str], Rule] = {}


def rule(kind: type | None, *actions: str):
    """Register the decorated function as the rule for ``actions`` on objects of ``kind``
    (``None``: site-wide actions, asked with ``obj=None``)."""

    def register(fn: Rule) -> Rule:
        for action in actions:
            register_rule(kind, action, fn)
        return fn

    return register


def register_rule(kind: type | None, action: str, fn: Rule) -> None:
    """Register ``fn`` for one ``(kind, action)`` pair; a pair has exactly one rule."""
    key = (kind, str(action))
    existing = _RULES.get(key)
    if existing is not None and existing is not fn and _qualname(existing) != _qualname(fn):
        raise RuntimeError(
            f"two rules for {action!r} on {kind}: {_qualname(existing)}, {_qualname(fn)}"
        )
    _RULES[key] = fn


def _qualname(fn: Rule) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def can(user, action: str, obj=None) -> bool:
    """True when ``user`` may do ``action`` to ``obj`` (``obj=None`` for site-wide actions)."""
    if user is None or isinstance(user, AnonymousUserMixin) or not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    fn = _RULES.get((type(obj) if obj is not None else None, str(action)))
    return bool(fn and fn(user, obj))


def require(user, action: str, obj=None) -> None:
    """Abort with 403 unless ``can(user, action, obj)``."""
    if not can(user, action, obj):
        abort(403)


def registered() -> set[tuple[type | None, str]]:
    """Every ``(kind, action)`` pair that has a rule (for tests and documentation)."""
    return set(_RULES)


# --- who someone is to a CO or a municipality ----------------------------------------------


def membership(user, co_id: int):
    """The user's current membership of CO ``co_id``, or None."""
    return user.membership_in(co_id)


def is_member(user, co_id: int) -> bool:
    return membership(user, co_id) is not None


def is_leader(user, co_id: int) -> bool:
    m = membership(user, co_id)
    return m is not None and m.role == MembershipRole.LEADER


def is_officer_of(user, municipality_id: int) -> bool:
    return user.role == UserRole.OFFICER and user.municipality_id == municipality_id

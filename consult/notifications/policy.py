"""Who may open a notification."""

from enum import StrEnum

from consult.auth.models import User
from consult.core.permissions import rule
from consult.notifications.models import Notification


class NotificationAction(StrEnum):
    OPEN = "open"


@rule(Notification, NotificationAction.OPEN)
def _open_notification(user: User, n: Notification) -> bool:
    """A notification is its recipient's alone."""
    return n.user_id == user.id

"""Who may see an attached file: whoever may see the record it belongs to."""

from enum import StrEnum

from consult.attachments.models import Attachment
from consult.attachments.service import owner_of
from consult.auth.models import User
from consult.core.permissions import can, rule


class AttachmentAction(StrEnum):
    VIEW = "view"


@rule(Attachment, AttachmentAction.VIEW)
def _view_attachment(user: User, attachment: Attachment) -> bool:
    """Whoever may see the record a file belongs to may see the file (each owning feature
    says who may ``view`` its records)."""
    owner = owner_of(attachment)
    return owner is not None and can(user, "view", owner)

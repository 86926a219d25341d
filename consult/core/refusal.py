"""The one way a service says no: ``Refusal``, a ``ValueError`` with a readable message and,
optionally, the form ``field`` it is about (None: the whole form).

Every feature's service error derives from it, so a view needs one ``except Refusal`` and
``consult.core.forms.show_refusal`` puts the message next to its field.
"""


class Refusal(ValueError):
    """A readable reason a rule refused an action; ``field`` names the form field it belongs
    to, when there is one, so the view can show it there."""

    def __init__(self, message="", field: str | None = None):
        super().__init__(message)
        self.field = field

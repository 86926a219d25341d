from consult.attachments import bp  # noqa: F401

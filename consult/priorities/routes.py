from consult.priorities import bp  # noqa: F401

from consult.monitoring import bp  # noqa: F401

"""Small pieces every feature's forms and views share."""


def show_refusal(form, error: Exception, default: str | None = None) -> None:
    """Put a service's refusal next to the field it names (``error.field``), else next to
    ``default``, else at the top of the form. What the user typed stays in the form."""
    name = getattr(error, "field", None)
    if not (name and name in form):
        name = default
    if name and name in form:
        form[name].errors = [*form[name].errors, str(error)]
    else:
        form.form_errors.append(str(error))

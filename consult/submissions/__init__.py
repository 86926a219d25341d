"""One record per intention: a one-time key in every form that creates something.

A create form carries a hidden ``submission_key`` (:class:`~consult.submissions.forms.CreateForm`).
The view claims the key for the signed-in person before creating, and records what it created
(:func:`~consult.submissions.service.claim`, :func:`~consult.submissions.service.fulfil`).
The same form sent again — browser Back then Save, a double tap, a retry on a slow link —
finds its key taken and is shown the record already created. A unique constraint on
(user, key) decides, not a look-up, so two sends at the same instant still create one record.
The JSON API uses the same store for its ``Idempotency-Key`` header.
"""

"""The app as gunicorn serves it for bench/pages.py, plus a bare route to compare with: no
database, no template, no session — the framework's ceiling on the same server."""

from consult import create_app

app = create_app()


@app.route("/bench/bare")
def bench_bare():
    return "ok"

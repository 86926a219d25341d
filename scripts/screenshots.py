#!/usr/bin/env python3
"""Screenshots of the demo at phone (360 px) and desk (1280 px) width, in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--lang km]

Builds a throw-away SQLite database with the demo programme, serves it on 127.0.0.1, logs in
as each role and saves full-page PNGs of the screens named below.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from consult import create_app, demo  # noqa: E402
from consult.core.enums import ProposalState  # noqa: E402
from consult.extensions import db  # noqa: E402
from consult.proposals.models import Proposal  # noqa: E402
from tests.live import browser, log_in, serving  # noqa: E402

WIDTHS = {"phone": 360, "desk": 1280}


def build_app(tmp: Path):
    app = create_app(
        {
            "CONSULT_ENV": "demo",
            "SECRET_KEY": "screenshots",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.sqlite",
            "UPLOAD_FOLDER": str(tmp / "uploads"),
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        demo.seed()
    return app


def pages(app) -> dict[str, list[tuple[str, str]]]:
    """Login → [(name, path)] for the screens worth looking at."""
    with app.app_context():

        def first(state):
            return db.session.scalar(
                select(Proposal.id).where(Proposal.state == state).order_by(Proposal.id)
            )

        negotiating = first(ProposalState.NEGOTIATING)
        voting = first(ProposalState.VOTING)
        leader_co = 1
        municipality = 1
    return {
        "012 000 001": [
            ("co-home", f"/co/{leader_co}"),
            ("proposal", f"/proposals/{negotiating}"),
            ("proposal-voting", f"/proposals/{voting}"),
            ("thread-counter-offer", f"/proposals/{negotiating}/thread"),
        ],
        "012 000 002": [
            ("member-co-home", f"/co/{leader_co}"),
        ],
        "officer@phnompenh.example": [
            ("officer-inbox", f"/municipalities/{municipality}/inbox"),
            ("officer-thread", f"/proposals/{negotiating}/thread"),
        ],
        "staff@consult.example": [
            ("dashboard", "/monitoring/"),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--lang", default="en", choices=["en", "km"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        password = app.config["DEMO_PASSWORD"]
        with serving(app) as base, browser() as b:
            for login, screens in pages(app).items():
                for label, width in WIDTHS.items():
                    context = b.new_context(
                        viewport={"width": width, "height": 800},
                        locale="km-KH" if args.lang == "km" else "en-GB",
                        extra_http_headers={"Accept-Language": args.lang},
                    )
                    page = context.new_page()
                    log_in(page, base, login, password)
                    for name, path in screens:
                        response = page.goto(base + path)
                        status = response.status if response else "?"
                        target = out / f"{name}-{label}-{args.lang}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(f"{status} {path:<40} → {target}")
                    context.close()


if __name__ == "__main__":
    main()

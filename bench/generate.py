"""Fill a PostgreSQL database with a programme at the seed's scale and beyond.

    DATABASE_URL=postgresql://root@127.0.0.1/consult_bench python bench/generate.py --reset
    DATABASE_URL=... python bench/generate.py --reset --scale 0.01   # a quick, CI-size run

At ``--scale 1``: 140 municipalities, 5,000 settlements and COs, 200,000 residents and
memberships (40 per CO), 100,000 meetings, 100,000 problems, 50,000 proposals with one vote
round each, 1,000,000 votes (20 per round), 200,000 messages. Rows are made by the database
itself (``INSERT … SELECT … FROM generate_series``), so a full run takes a minute or two.

The dashboard's summary rows (``monitoring_days``) are then counted from them
(``aggregates.rebuild``, as ``consult rebuild-monitoring`` does).

Dates spread over the last five or so years up to today, so "this year" and "last 12
months" always have data. A staff account ``staff@bench.example`` (password ``bench-staff``)
is created for ``bench/dashboard.py``.
"""

# ruff: noqa: S608 - the SQL is assembled from constants in this file, never from input

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

STAFF_EMAIL = "staff@bench.example"
STAFF_PASSWORD = "bench-staff"  # noqa: S105 - a benchmark account on a throwaway database
MEMBERS_PER_CO = 40
VOTES_PER_ROUND = 20

FULL = {
    "municipalities": 140,
    "cos": 5000,
    "meetings": 100_000,
    "problems": 100_000,
    "proposals": 50_000,
    "votes": 1_000_000,
    "messages": 200_000,
}

COUNTRIES = [
    ("KH", "KHR"), ("PH", "PHP"), ("TH", "THB"), ("VN", "VND"), ("ID", "IDR"),
    ("LA", "LAK"), ("MM", "MMK"), ("NP", "NPR"), ("IN", "INR"), ("BD", "BDT"),
]  # fmt: skip
STATES = [
    "draft", "voting", "approved", "submitted", "under_review", "negotiating", "agreed",
    "in_progress", "completed", "completed", "completed", "declined", "withdrawn",
]  # fmt: skip
CATEGORIES = [
    "drainage", "water", "sanitation", "lanes", "footbridges", "waste", "lighting", "housing",
    "health", "safety", "other",
]  # fmt: skip
INFRASTRUCTURE = [
    "footbridge", "concrete_lane", "drainage", "toilets", "drinking_water", "solid_waste",
    "lighting", "housing", "other",
]  # fmt: skip


def counts(scale: float) -> dict[str, int]:
    n = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    n["municipalities"] = max(2, n["municipalities"])
    n["cos"] = max(n["municipalities"], n["cos"])
    n["proposals"] = max(1, n["proposals"])
    n["votes"] = n["proposals"] * VOTES_PER_ROUND  # exactly one round of 20 per proposal
    n["users"] = n["cos"] * MEMBERS_PER_CO
    return n


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def statements(n: dict[str, int]) -> list[tuple[str, str]]:
    countries = _array([c for c, _ in COUNTRIES])
    currencies = _array([c for _, c in COUNTRIES])
    states = _array(STATES)
    categories = _array(CATEGORIES)
    infra = _array(INFRASTRUCTURE)
    k = len(COUNTRIES)
    # A proposal's state decides which of its timestamps exist.
    submitted = (
        "= ANY('{submitted,under_review,negotiating,agreed,in_progress,completed,declined}')"
    )
    answered = "= ANY('{under_review,negotiating,agreed,in_progress,completed,declined}')"
    agreed = "= ANY('{agreed,in_progress,completed}')"
    return [
        (
            "municipalities",
            f"""
            INSERT INTO municipalities (id, created_at, name, city, country, currency, timezone,
                default_language, response_target_days, annual_target_settlements)
            SELECT i, now(), 'Municipality ' || i, 'City ' || i,
                ({countries})[1 + i % {k}], ({currencies})[1 + i % {k}], 'Asia/Phnom_Penh',
                'km', 7 + (i % 3) * 7, 5 + i % 20
            FROM generate_series(1, :municipalities) AS i""",
        ),
        (
            "settlements",
            """
            INSERT INTO settlements (id, created_at, municipality_id, name, households,
                population, tenure, latitude, longitude)
            SELECT i, now(), 1 + i % :municipalities, 'ភូមិ Settlement ' || i, 50 + i % 300,
                250 + i % 1500, 'informal', 10 + (i % 997) / 100.0, 100 + (i % 991) / 50.0
            FROM generate_series(1, :cos) AS i""",
        ),
        (
            "community_organisations",
            """
            INSERT INTO community_organisations (id, created_at, settlement_id, name, formed_on,
                status, quorum_percent, threshold_percent, priority_points)
            SELECT i, now(), i, 'CO ' || i, current_date - (i % 3650), 'active', 50, 50, 3
            FROM generate_series(1, :cos) AS i""",
        ),
        (
            "users",
            """
            INSERT INTO users (id, created_at, name, phone, role, gender, active, session_token)
            SELECT i, now(), 'Resident ' || i, '+1' || lpad(i::text, 9, '0'), 'resident',
                (ARRAY['woman', 'woman', 'man', 'other'])[1 + i % 4], true, md5(i::text)
            FROM generate_series(1, :users) AS i""",
        ),
        (
            "memberships",
            f"""
            INSERT INTO memberships (id, created_at, user_id, co_id, role, joined_on)
            SELECT i, now(), i, 1 + (i - 1) / {MEMBERS_PER_CO},
                CASE WHEN (i - 1) % {MEMBERS_PER_CO} = 0 THEN 'leader' ELSE 'member' END,
                date '2015-01-01'
            FROM generate_series(1, :users) AS i""",
        ),
        (
            "meetings",
            """
            INSERT INTO meetings (id, created_at, co_id, kind, held_at, place, women_present,
                men_present, other_present)
            SELECT i, now(), 1 + (i - 1) % :cos, 'consultation',
                now() - (i % 2000) * interval '1 day', 'Community hall', 5 + i % 20, 3 + i % 15,
                i % 3
            FROM generate_series(1, :meetings) AS i""",
        ),
        (
            "problems",
            f"""
            INSERT INTO problems (id, created_at, co_id, title, category, households_affected,
                status)
            SELECT i, now() - (i % 2000) * interval '1 day', 1 + (i - 1) % :cos,
                'ផ្លូវលិចទឹក flooded lane ' || i, ({categories})[1 + i % 11], 10 + i % 90,
                (ARRAY['open', 'addressed', 'resolved', 'closed'])[1 + i % 4]
            FROM generate_series(1, :problems) AS i""",
        ),
        (
            "proposals",
            f"""
            INSERT INTO proposals (id, created_at, co_id, municipality_id, state, title,
                infrastructure_type, currency, estimated_cost, community_cash, community_labour,
                amount_requested, households_benefiting, progress_percent, submitted_at,
                first_response_at, agreed_at, started_on, completed_on, households_benefited)
            SELECT g.i, g.created, g.co, m.id, g.state, 'Scheme ' || g.i,
                ({infra})[1 + g.i % 9], m.currency, 40000000, 2000000, 4000000, 34000000,
                20 + g.i % 200, CASE WHEN g.state = 'completed' THEN 100 ELSE 0 END,
                CASE WHEN g.state {submitted} THEN g.created + interval '10 days' END,
                CASE WHEN g.state {answered}
                     THEN g.created + interval '10 days' + (g.i % 30) * interval '1 day'
                          + (g.i % 24) * interval '1 hour' END,
                CASE WHEN g.state {agreed} THEN g.created + interval '60 days' END,
                CASE WHEN g.state IN ('in_progress', 'completed')
                     THEN (g.created + interval '70 days')::date END,
                CASE WHEN g.state = 'completed' THEN (g.created + interval '150 days')::date END,
                CASE WHEN g.state = 'completed' AND g.i % 3 > 0 THEN 20 + g.i % 180 END
            FROM (
                SELECT i, 1 + (i - 1) % :cos AS co, ({states})[1 + i % {len(STATES)}] AS state,
                    now() - (i % 1900) * interval '1 day' - interval '150 days' AS created
                FROM generate_series(1, :proposals) AS i
            ) AS g
            JOIN settlements s ON s.id = g.co
            JOIN municipalities m ON m.id = s.municipality_id""",
        ),
        (
            "vote_rounds",
            f"""
            INSERT INTO vote_rounds (id, created_at, proposal_id, subject, opened_at, closes_at,
                closed_at, quorum_percent, threshold_percent, members_at_close, yes_count,
                no_count, abstain_count, result)
            SELECT p.id, p.created_at, p.id, 'proposal', p.created_at + interval '1 day',
                p.created_at + interval '8 days',
                CASE WHEN p.state <> 'voting' THEN p.created_at + interval '8 days' END,
                50, 50, {MEMBERS_PER_CO}, 12, 5, 3,
                CASE WHEN p.state <> 'voting' THEN 'approved' END
            FROM proposals p""",
        ),
        (
            "vote_roll",
            f"""
            INSERT INTO vote_roll (round_id, membership_id, set_aside)
            SELECT r.id, (p.co_id - 1) * {MEMBERS_PER_CO} + m, false
            FROM vote_rounds r JOIN proposals p ON p.id = r.proposal_id,
                generate_series(1, {MEMBERS_PER_CO}) AS m""",
        ),
        (
            "votes",
            f"""
            INSERT INTO votes (id, round_id, membership_id, choice, cast_at)
            SELECT j, r, (p.co_id - 1) * {MEMBERS_PER_CO} + 1 + (j - 1) % {VOTES_PER_ROUND},
                (ARRAY['yes', 'yes', 'yes', 'no', 'abstain'])[1 + j % 5],
                p.created_at + interval '2 days'
            FROM (
                SELECT j, 1 + (j - 1) / {VOTES_PER_ROUND} AS r FROM generate_series(1, :votes) AS j
            ) AS v
            JOIN proposals p ON p.id = v.r""",
        ),
        (
            "messages",
            """
            INSERT INTO messages (id, created_at, proposal_id, side, kind, body)
            SELECT j, p.created_at + (j % 40) * interval '1 day', p.id,
                (ARRAY['community', 'municipality'])[1 + j % 2],
                (ARRAY['comment', 'question', 'status_note'])[1 + j % 3],
                'សារ message ' || j
            FROM generate_series(1, :messages) AS j
            JOIN proposals p ON p.id = 1 + (j - 1) % :proposals""",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = the full programme")
    parser.add_argument("--reset", action="store_true", help="drop and recreate every table first")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (its contents will be replaced).")

    from werkzeug.security import generate_password_hash

    from consult import create_app
    from consult.extensions import db

    app = create_app({"CONSULT_ENV": "testing", "SECRET_KEY": "bench"})
    n = counts(args.scale)
    started = time.perf_counter()
    with app.app_context():
        if args.reset:
            # every table there, also those an older version of Consult made
            from sqlalchemy import MetaData

            found = MetaData()
            found.reflect(db.engine)
            found.drop_all(db.engine)
            db.create_all()
        with db.engine.begin() as conn:
            for table, sql in statements(n):
                t = time.perf_counter()
                conn.execute(text(sql), n)
                print(f"{table:<26}{time.perf_counter() - t:7.1f} s", flush=True)
            conn.execute(
                text(
                    "INSERT INTO users (id, created_at, name, email, role, gender, active,"
                    " password_hash, session_token) VALUES (:id, now(), 'Bench staff', :email,"
                    " 'staff', 'woman', true, :hash, md5(random()::text))"
                ),
                {
                    "id": n["users"] + 1,
                    "email": STAFF_EMAIL,
                    "hash": generate_password_hash(STAFF_PASSWORD),
                },
            )
            # The dashboard's summary rows, counted from what was just made (ballots included,
            # as `consult refresh-monitoring` would count them).
            from consult.monitoring import aggregates

            t = time.perf_counter()
            rows = aggregates.rebuild(conn)
            print(f"{'monitoring_days':<26}{time.perf_counter() - t:7.1f} s ({rows:,} rows)")
            t = time.perf_counter()
            rows = audit_trail(conn)
            print(f"{'audit_events':<26}{time.perf_counter() - t:7.1f} s ({rows:,} rows)")
            # The rows above carry explicit ids: move each id sequence past them.
            for table in db.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                            f" coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # as autovacuum leaves a table soon after a bulk load: statistics, and the
            # visibility map that lets a count read an index alone
            conn.execute(text("VACUUM ANALYZE"))
    print(
        "made "
        + ", ".join(f"{v:,} {k}" for k, v in n.items())
        + f" in {time.perf_counter() - started:.0f} s"
    )


def audit_trail(conn) -> int:
    """The audit trail the services would have written (one event per proposal, ballot,
    message, meeting and problem, with its CO), replacing any, numbered in time order as the
    events happened: pages' versions read it. Returns how many events it made."""
    conn.execute(text("TRUNCATE audit_events RESTART IDENTITY"))
    made = conn.execute(
        text(
            "INSERT INTO audit_events (at, action, object_type, object_id, proposal_id, co_id,"
            " detail) SELECT at, action, object_type, object_id, proposal_id, co_id, '{}'::json"
            " FROM ("
            "  SELECT p.created_at AS at, 'proposal.drafted' AS action, 'Proposal' AS object_type,"
            "   p.id AS object_id, p.id AS proposal_id, p.co_id FROM proposals p"
            "  UNION ALL SELECT v.cast_at, 'vote.cast', 'Vote', v.id, r.proposal_id, p.co_id"
            "   FROM votes v JOIN vote_rounds r ON r.id = v.round_id"
            "   JOIN proposals p ON p.id = r.proposal_id"
            "  UNION ALL SELECT m.created_at, 'message.posted', 'Message', m.id, m.proposal_id,"
            "   p.co_id FROM messages m JOIN proposals p ON p.id = m.proposal_id"
            "  UNION ALL SELECT created_at, 'meeting.logged', 'Meeting', id, NULL, co_id"
            "   FROM meetings"
            "  UNION ALL SELECT created_at, 'problem.recorded', 'Problem', id, NULL, co_id"
            "   FROM problems"
            " ) AS events ORDER BY at"
        )
    )
    return made.rowcount


if __name__ == "__main__":
    main()

"""Pages for readers who read little, on phones: keypads that fit the field, back links that
keep the list as it was, priorities without what is already solved, words that agree."""

from consult.core.enums import ProblemCategory, ProblemStatus
from consult.extensions import db
from consult.priorities import counting
from consult.priorities import service as priorities


def test_login_brings_up_the_phone_keypad_or_the_email_one_on_request(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'inputmode="tel"' in html and 'autocomplete="username"' in html
    assert 'href="/login?with=email"' in html
    html = client.get("/login?with=email").get_data(as_text=True)
    assert 'inputmode="email"' in html and 'inputmode="tel"' not in html


def test_number_fields_bring_up_the_number_keypad(world, client, login):
    login(world.leader)
    html = client.get(f"/co/{world.co.id}/meetings/new").get_data(as_text=True)
    assert 'id="women_present" inputmode="numeric"' in html or (
        'inputmode="numeric"' in html and 'id="women_present"' in html
    )


def test_hints_are_tied_to_their_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'id="login-hint"' in html
    assert 'aria-describedby="login-hint"' in html


def test_back_link_keeps_the_lists_filter_and_page(world, make, client, login):
    problem = make.problem(world.co, title="Flooding")
    db.session.commit()
    login(world.member)
    listing = f"/co/{world.co.id}/problems?status=open&category=drainage"
    html = client.get(
        f"/problems/{problem.id}", headers={"Referer": f"http://localhost{listing}"}
    ).get_data(as_text=True)
    assert f'href="{listing.replace("&", "&amp;")}">←' in html
    # from elsewhere (or another site), the list itself
    for referer in ("http://localhost/notifications", "https://evil.example/co/1/problems?x=1"):
        html = client.get(f"/problems/{problem.id}", headers={"Referer": referer}).get_data(
            as_text=True
        )
        assert f'href="/co/{world.co.id}/problems">←' in html


def test_current_priorities_leave_out_what_was_solved_since(world, make, client, login):
    solved = make.problem(world.co, title="Broken lamp", category=ProblemCategory.LIGHTING)
    make.problem(world.co, title="Flooding")
    db.session.commit()
    rnd = priorities.open_round(world.co, by=world.leader, title="R1")
    priorities.give_points(rnd, world.leader.membership_in(world.co.id), {solved.id: 3})
    priorities.close_round(rnd, by=world.leader)
    solved.status = ProblemStatus.RESOLVED
    db.session.commit()
    assert [s.title for s in counting.still_to_solve(rnd)] == ["Flooding"]
    login(world.member)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    section = html[html.index("Current priorities") :]
    assert "Flooding" in section and "Broken lamp" not in section.split("</section>")[0]


def test_categories_carry_their_pictogram(world, make, client, login):
    problem = make.problem(world.co, title="Flooding", category=ProblemCategory.DRAINAGE)
    db.session.commit()
    login(world.member)
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert '<svg width="20" height="20"' in html and 'aria-hidden="true"' in html
    assert "</svg> Drainage &amp; flooding" in html or "</svg> Drainage & flooding" in html

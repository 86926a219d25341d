"""Each role finds its own pages from where it lands, and no one else's."""


def test_leader_home_links_to_the_cos_results(client, world, login):
    login(world.leader)
    page = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    assert f"/monitoring/co/{world.co.id}" in page
    assert client.get(f"/monitoring/co/{world.co.id}").status_code == 200


def test_officer_lands_on_the_inbox_with_a_link_to_the_results(client, world, login):
    login(world.officer)
    r = client.get("/", follow_redirects=True)
    page = r.get_data(as_text=True)
    assert f"/municipalities/{world.municipality.id}/inbox" in r.request.path
    assert f"/monitoring/municipality/{world.municipality.id}" in page


def test_officer_sees_the_public_co_page_without_internal_links(client, world, login):
    login(world.officer)
    page = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    assert f"/monitoring/co/{world.co.id}" not in page
    assert f"/co/{world.co.id}/members" not in page


def test_staff_land_on_their_dashboard(client, world, login):
    login(world.staff)
    r = client.get("/", follow_redirects=True)
    assert r.request.path == "/monitoring/"
    assert "/monitoring/" in r.get_data(as_text=True)

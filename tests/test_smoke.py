def test_healthz_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_world_builds(world, login, client):
    login(world.leader)
    r = client.get(f"/co/{world.co.id}")
    assert r.status_code == 200
    assert b"Boeung Kak CO" in r.data

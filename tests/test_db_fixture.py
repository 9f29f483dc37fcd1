from pixelfox_app.models import StoragePool, User


async def test_models_round_trip_through_a_migrated_database(db):
    user = await User.create(username="ada", password_hash="x")
    pool = await StoragePool.create(name="hot-1", base_path="/srv/pool1", node_id="s01")
    assert (await User.get(id=user.id)).username == "ada"
    assert (await StoragePool.get(id=pool.id)).tier == "hot"

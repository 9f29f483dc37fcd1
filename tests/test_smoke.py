from tests.support import PIXELFOX, Service, free_port


def test_both_services_answer_their_health_endpoints(tmp_path, sqlite_url, redis_url, redis_prefix):
    import asyncio

    from pixelfox_app.dbschema import migrate

    asyncio.run(migrate(sqlite_url))
    app_port, node_port = free_port(), free_port()
    env = {
        "PIXELFOX_DATABASE_URL": sqlite_url,
        "PIXELFOX_REDIS_URL": redis_url,
        "PIXELFOX_REDIS_PREFIX": redis_prefix,
    }
    app = Service(
        "app",
        [*PIXELFOX, "serve-app", "--bind", f"127.0.0.1:{app_port}"],
        env,
        tmp_path / "app.log",
    )
    node = Service(
        "node",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{node_port}"],
        {**env, "PIXELFOX_NODE_ID": "s01"},
        tmp_path / "node.log",
    )
    try:
        app.start(f"http://127.0.0.1:{app_port}/healthz")
        node.start(f"http://127.0.0.1:{node_port}/healthz")
    finally:
        assert app.stop() == 0
        assert node.stop() == 0

"""The web UI: login, upload page, image pages and the HTMX admin.

``register(app)`` installs everything at once: the CSRF check, the security
headers, the template helpers, the blueprints and the pool health sampler.
"""

from __future__ import annotations

from quart import Quart

from . import csrf, headers, templating


def register(app: Quart) -> None:
    """Install the web UI on the control app."""
    from .admin import blueprint as admin
    from .admin.history import install as install_history
    from .pages.account import api as account_api
    from .pages.account import blueprint as account
    from .pages.albums import blueprint as albums
    from .pages.gallery import blueprint as gallery
    from .pages.guest import blueprint as guest
    from .pages.images import blueprint as images
    from .pages.my_account import blueprint as my_account
    from .pages.signup import blueprint as signup
    from .pages.trash import blueprint as trash
    from .pages.upload import blueprint as upload

    csrf.install(app)
    headers.install(app)
    templating.install(app)
    for blueprint in (
        account,
        signup,
        my_account,
        upload,
        guest,
        images,
        gallery,
        albums,
        trash,
        admin,
    ):
        csrf.WEB_BLUEPRINTS.add(blueprint.name)
        app.register_blueprint(blueprint)
    app.register_blueprint(account_api)
    install_history(app)


__all__ = ["register"]

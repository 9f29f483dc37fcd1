"""Accounts the operator makes: argon2 hashes, admin flag, refused names and passwords."""

from __future__ import annotations

import pytest

from pixelfox_app.auth import accounts
from pixelfox_app.auth.accounts import AccountError
from pixelfox_app.auth.passwords import verify_password
from pixelfox_app.models import User


async def test_create_admin_stores_an_argon2_hash_that_verifies(db):
    await accounts.create_admin("ada", "correct horse")

    user = await User.get(username="ada")
    assert user.is_admin
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "correct horse")
    assert not verify_password(user.password_hash, "wrong horse")


async def test_create_user_is_not_an_admin_by_default(db):
    user = await accounts.create_user("bob", "long enough", email="bob@example.net")

    assert not user.is_admin
    assert (await User.get(id=user.id)).email == "bob@example.net"


async def test_a_name_taken_in_another_letter_case_is_refused(db):
    await accounts.create_user("ada", "correct horse")

    with pytest.raises(AccountError, match="user 'ada' already exists"):
        await accounts.create_user("Ada", "correct horse")
    assert await User.all().count() == 1


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("ada", "short", "at least 8 characters"),
        ("ada", "x" * 1025, "at most 1024 characters"),
        ("", "correct horse", "a username is"),
        ("-ada", "correct horse", "a username is"),
        ("a d a", "correct horse", "a username is"),
        ("a" * 65, "correct horse", "a username is"),
    ],
)
async def test_bad_names_and_passwords_are_refused_and_nothing_is_stored(
    db, username, password, message
):
    with pytest.raises(AccountError, match=message):
        await accounts.create_user(username, password)
    assert await User.all().count() == 0


async def test_set_password_replaces_the_hash_and_can_grant_admin(db):
    await accounts.create_user("bob", "old password")

    await accounts.set_password("bob", "new password", make_admin=True)

    user = await User.get(username="bob")
    assert user.is_admin
    assert verify_password(user.password_hash, "new password")
    assert not verify_password(user.password_hash, "old password")


async def test_set_password_of_an_unknown_user_is_refused(db):
    with pytest.raises(AccountError, match="no user named 'nobody'"):
        await accounts.set_password("nobody", "new password")

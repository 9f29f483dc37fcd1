from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "invites" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "prefix" VARCHAR(12) NOT NULL,
    "note" VARCHAR(100) NOT NULL,
    "max_uses" INT NOT NULL,
    "uses" INT NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "revoked_at" TIMESTAMP,
    "created_by_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
) /* A sign-up link of invite mode; only its token's SHA-256 is stored. */;
        ALTER TABLE "api_tokens" ADD "expires_at" TIMESTAMP;
        ALTER TABLE "users" ADD "quota_bytes" BIGINT;
        ALTER TABLE "users" ADD "default_visibility" VARCHAR(16) NOT NULL DEFAULT 'public' /* PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private */;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_tokens" DROP COLUMN "expires_at";
        ALTER TABLE "users" DROP COLUMN "quota_bytes";
        ALTER TABLE "users" DROP COLUMN "default_visibility";
        DROP TABLE IF EXISTS "invites";"""


MODELS_STATE = (
    "eJztXXuT2ji2/yoq/plOVacrTT+S27O7t+gOmWGHQN8GMnN32DLCVoOqjeTxowkzm+++km"
    "yDn2DT4LYdVaWSYOvI8u9I8nnrr8aCaki3zloGHtInRBo34K8GgQvE/hO7dwoa0DA2d/gF"
    "G0510RgaWLF5M3EZTi3bhKrN7jxC3ULskoYs1cSGjSl/SqMFDGRalEAdCDLwSE3gtrB+BJ"
    "ToK4BtCwx+br1tXl0DbAHLpibSznj3GlVZ/5jMXtyTQ/AfDmIjnyF7jkzW3+//Zpcx0dBX"
    "ZPk/jSflESNdC8GDNd6BuK7YK0Nc6xD7k2jIBzlVVKo7C7JpbKzsOSXr1pjY/OoMEWRCG/"
    "HubdPhYBFH1z1kffzckW6auEMM0GjoETo6h5xTuwPYXGsoSq8/VAbtoaI0YuzwKQK4epdU"
    "Sjgr2VAt8fYzPoS3zfPL95cfLq4vP7AmYpjrK++/uY/eAOMSCnh6w8Y3cR/a0G0hMN6AKv"
    "6NwXo3h2Yyrn77CLJsyFFkfRy3Qetf2GC7mb1FgLuAXxUdkZk9Zz/P373bAuWX1sPdz62H"
    "E9bqDX8kZcvNXYk971bTvcfx3uArVogyh9Y8D8phqsNg/brTOIT09WUGoK8vU3Hmt8IwGy"
    "Z6xF/zQLyhqONUbmaZyc30idyMAqyaiIOhQDsO8kd2x8YLlAx0mDICtuaRnvn/qSL07AW1"
    "PvvseWtqC/TDzuf2YNj6fM8ft7CsP3SBX2vY5nea4uoqcvXkOsKmdSfg187wZ8B/gn/1e2"
    "0BL7XsmSmeuGk3/FeDjwk6NlUIXSpQCyx//6qPWojrOrRsxbH24nuU9gCc94ZcFsZXhNE+"
    "Jls5jb4amHW3B5/DlJLLZeayiZ6ZZLHPag5TSi6Xmcts0zWVXNpSgGK3ylSFT/IBtCauhz"
    "4+JSpNHK44up+Ykotn5Be0EiB32IggUZO0JU/RH3ndVAzcb/7s8a9uVrMJl2vFPTip2Luz"
    "N0a2K5O3Bnetj+2GQHgK1aclNDUlBDW/Q5s0cmXdNn5r0VxEr0ACZwIc/hZ8zB7qnQUUsy"
    "Nmd3FvnG4zumDeJJvBJR3OBBPI72wPoLq/AiGT4f8dsYr81di8XoMuyRragHjNSdjXmO0k"
    "FhvDGom1/UQMXnGJPTLxdt6sbAhy9lbih9hRAs8MDJD9ne1RAZpsD3EnSY6XCRCkP0RalI"
    "q0KDlOEqyjUedjyrfHSUSWXz7jVJWzdWxBT+jdF65sEPzqi/cMK9zWnJp24lc83aYRpKmd"
    "0ej8OotNIyp3BWwa1zGjEd9oc8Drt6+hwah5dZUBXdYqFV5xL4wvNfEME6izPtmDchqaE4"
    "mLQ77RqC7uFv4zAepbPEv9tvkUdRL+/6fZvLh433x3cf3h6vL9+6sP79ZfuvitbZ+8285P"
    "/KsXwt//DAb3a9i8us63W/sUNdxQDm/iX+B8G4jfXoKbAdwl1pK+hakbxrp9cTvGu1LLwx"
    "so5wjP5gn2tVQsNwQSzNiuarMXT171beIsYoaW8AbrExcoNhgmVbnKyjDKB3Hj/qF/1x4M"
    "Or2fbsCmlzF5aLc+/v8N4E6m1Zh8anW67Y/80UwscufSq8vRz9jCU6xje7Uvp8I9FMkuZ6"
    "pjNTerRrfdzh1jk6Aek1Gv2xkMOVscomOLjXFM7h86X1rDNuclfvbmYZlYpdjQnKGEfSov"
    "xwId7cW4YhwBFeYZN3siTXGMPdw2UVrpuCmz4yZszczD5zCl5HIVuDxN+Vxu5/C06E9kMY"
    "aQI4SEOeaMPX+PxRSmlIupzItJxqWlL7D6xqV5+tFefI/SyvVd5vUddHVntKcESepk0D6Y"
    "USXgls8IaTA6QSK6Mz5IzMA4vDJAKBwgFFyoyRFC0Vl7AEwHNtvIZuje662m0AYWbAjZB7"
    "YhP3TuhtuCrwLCFTWwG+4UcSV6dJ9+eUA6FO+QireIqrqjxqpGaIdNatDEkBO8HKYvbld1"
    "RWpBn5GCbbR4IVafWT8d1k1lJbM4TEcPeBQrMC3o0V+eOwIflc1+sDvftE8QYO1XgD4CSI"
    "DoAFDC/iDAd6cbkSTqR3mwJhqAui4u+ivqFEAb2HOETcBDb6x4KuoxHjImY9ICJl3yNFfR"
    "+ykg1Ba/eCwK4Gl+4LP7MItTPzIgqAmaAJoINMVNRm4JsjE5P7sGU6zrDJc3Z2A4Ry7lD2"
    "xcSwImEz7OyYSnybJRcMvzApor8VzWhN9My5v93eOKJ5d5O/7WwNG1Ryxn1KjHeUXQvyh2"
    "1B1BnmcK4vXAZYhnCUI8q+eVRUTbxyXb7n10/bEu/Zh8aT90PnW41+gZmZi9vjYm3f5geA"
    "N0pviWw1/kj2wP20iEVJpGymwama7sROF8S5zfmqQ2kSYFR/lJc3M6Q+prbg7KWVlFiaBo"
    "Jk1m0gh5HES3GCGxn872QoPZOi2uYvBmNZUFV6q0Qh4U2pdYIY9uEfGNbWlGkYAxbpddJG"
    "gCPHRiaHB6PjF+i8lHzYWruedMHM2fxLl+twzJnFIJL1IJX0+GjAFEfvsa5kNcZCl3dJFe"
    "7ugiVu7IW2E54N1Q1BDgDxnw/ZAK7weZeCkTAIsXrGUCYJ3COSuQoVZ6YaJiSWoVwlNaiK"
    "SFqJyISgtRKrzSQvTq0JbWQkSesRhJ3Dbk3jndahUSbTIXZrfYxHjrGEDH5IlHsrjkgHcc"
    "qKcuakL/kLFC+0u75EEwPFRF0HuhKX6fBg+yWWJ7DiaT/3U7/vvfRFf/mEzOQMcWLS3Amk"
    "4mXCp0LGRNJgCqKnXY/ABTxJRlxG5uSodOJj+y315D9jzRkjvXWSfTlYjnYXNJwxw0qIPR"
    "PXcLnQKLAntJ/ZFZgCHNIBAF6fmIeQlawDoFKiQiFmdK2ahnyGZvD04M/BXpj/Srwhh55g"
    "/uzOPdG1mtvoQ2L1lNvZjUOVlN/bjV1NlmlO/UBVp4yFQxdoKjnLngf3NybMBBEqk6JChj"
    "OfEsHsuqVLQpUaH1ss3ZikQMZQrOk4Fi6SuqvoFisr7+97S2p6t85skY3V5fx5Ix9sg2yg"
    "1mB7CpZcynLRnCWW1psekVsqixUYDeqNt9LYsaT9prJNjTxPXTbdY0njaY0ZbGOuP2H/SM"
    "zJWfDfa4zgYDNgWQqVJzZIITE02hzqYLa38KNI4r+9+buC3tMF1KQ1K5DEnVy2BiE4vsk8"
    "LUbfV6bg6T18OYPIy8S6bjXblvjQY8qcmA/MCuMblr9e7aXVFoUuUQ6Dq/+pF9T2+AxuZ+"
    "OetQqo5p0YS6C+kf5DWB1FNj3lc+XVAu7+uGQsIZhZOvmhxY+s0lkFEgNxtORig3BBLMWM"
    "zaEzaMXGgGKCScUThFeqXC5dUESHfmZW4Ia4NswSGYU2ircyU5+jUd+xBRcdA331VlWpuI"
    "vZWVv2RplK523qsjeF5dGWqfsoYhSmlALLMBEZlmkp4yRF9T9qg1QQ2W0DZGtn8bhnjoL5"
    "WTz63f3oT42O33fvKbB5bWXbd/K1P2pSeG22jM/bgeppQbaZk30kdMsDXfi80RUsnnMvPZ"
    "oo6p5syvCNHImJ4Eud49uCUfqiEaiepuB6Y7DQ/gvPw+EgJCqzYlJSA+hyW8GeENLd8XVA"
    "YutoprVdA+ahnXNV4pTnQfy+2O9E393SyZKQYy37o+b6GBAvbnDweakNiYsGvENt3Sq4B3"
    "DU4sRxVHK1iiEqpIM/ESORIc6wfvPbF8ivvObsUTP40rWiJFut6l6/2gZ82FneNjMvilc3"
    "/PL3jekzH5v1HrodUbdnr86mbSl8SRLu1TBdqnoM12ZCOpfnzqVhMkqY2v6GBqjTT4pUNd"
    "X4Pfa1RgKJnF59ALKSA7ZU2j2lBI28Bu28DCi319oerqh9BWDNysOmtgUu2uvlB0TYuSbQ"
    "EvLmnx2mHiA2Tb7gvGlFz/1uk2HddyG2XVcAmgBmcvUz2fCJ3+6JZFYFNBnBXisQfomOmf"
    "mIBQxQDePuFIksN0+YJ48SeUK0jDay6z4iNakR+bka7IPkPdSdhq/jno95KhXhNEJUus2u"
    "A/gJ9CXt1tPAlmDsV2fSmqGkXkQt5BVF9yDG1P8T5MKcX7soj3CS7A2NlhPu/yRaCFqWpg"
    "nDjGHhcTUF/py+86YHrsV+LXP3B7uwTgNmQTSctRgsklAnM2a8HJZGK9O59MwNhpvmtev+"
    "E1jSygmkhDxMZQ39RJAtACcF0+iZukE4sxHbRzmUpWLns2n2eJWvK2ci5aippcfbnr8LW4"
    "NWIp4v85EA7S1G7bP0rN6M0OlLu+VgJpmd0zpQn2fkam5bnIs0IdIKndtD78zvFnYtJdOr"
    "p/JmfdSWjj0PLSioqFENlDD4vSytjL8iheCY4VS2HCM06yVN9SqiNIUuTHIF2ExdMjRln5"
    "ok+xbL3t97shjt52or7f0efb9sPJuWAla+TWl5X+y1y7WjUNHGn+y3Jp3iL0MV3z9iMjd2"
    "vevDBKRs37V6bBIv8obW4Tv2Eqr4ZNxE/UXvlHeXN96dQtOcyN6YYz1bEqzOmOoVOogdFD"
    "N8EUf+jOpeZdMs07p1J4WIWwRDr3UaqoCngS0d0dpufTFihI61SFek5putHt37W6/OxuRj"
    "smvU8DhvejNSaDixtgXUQ3lCysOPBJWTZGCYF4GZng0RbIhDm187Lg5/7wBsx5cfZfWw+f"
    "bwD7nC3G5K7f5bWHqL5XROShjyszMTWxneB5SK+FEyApLhLmvDIlBabQYnJCzmPgQkQ1tD"
    "BdZdrGr7Zs41fxbdyVZxSBnWMmnEyypah7nLR2lpGjYK5qZC/Ao3QS7Sxou2K6Ag2cF+84"
    "pUQ8C+JlcHnFMY7J35U1rppoltMvsKGo3Qw+PLzLvIcfLl/h8MPqyHIqNKDKZF1FVDFLsB"
    "JvKXwWp61NPkvBtc944dZ9OBCmk+jvh76JLGQ+o30YECMtco95f/H+8vxD87JWzJAeq4I9"
    "Vgw4T5ROK8ewC/cYuYQ/O/xzBHV7rvDcaCdh80mXGmOEBQqPDnkidEmKkSEPnyLNPW+OoU"
    "wd9Slpvm8zYkUIayewHyU8zYMt/8mEMUKJdxa8TWToWBUlXJRHyB2mOfSlZGKZYitjPb7f"
    "WA+ZwlRnrqelMOWI8InkML+wulbW/OWy8T+1tFZo16QGPghAd9RY1RWkZ2hiSJLqyuSG6Y"
    "vbVV2REgeMKdRJ0ltzFrSrN0Q4wSchEQp5IS1k8QSNF666kehs4PZVJ8SOGcYaBi0hkDWG"
    "anooawI3dwez9vmhgCZdYAv5waPstecI2PQJkR8sMJlYWJtMfgRTpNIFL2RIQMc9UpAAds"
    "XQEe8rHsl60J53h7H+1dhAHjx2mjdjP00fFY8yZQko4QOr/SneEJ0wKMWPb7lCZkejzscc"
    "MbOOg7UzTrPPEtod39n426NDVI4rEE/if13+41hK/xZJ2HWBuqJtUGgVr749hlZMoJy+/C"
    "BN7WJpD5/m59ba4ZMj14QOURU7sV8nM2rnLA7W/Wf8yhn9HaSRNsBMKcGU2IjYSnokeIpp"
    "KkJXO7TPm1kijFmrdIdCMxZlrCFVhybSUs4v2+ZCjpFKN/5+nmPO5fzwB6nqVPawYPCfsY"
    "WnWE8MtM+W8RDuocjTmUWkdM7Np3E/uu127m68lLMxGfW6ncGQV4R2CC8GxgtF3z90vrSG"
    "bdbIxM9e7evX936GJfs8BuwwZQ0N2NU1WMf9FFUr1d6gBsobUdDo37d7N7xmI2ErUJyC7p"
    "6B3v7tvvPAf7pTtiSl2VUdc9EKG7kEsiBR7aSxw2ts3sGlOdXiMJWEeSfM0vmdDn013aCZ"
    "nN/Wfp5vS57V99rszSQ08OoP+arGByjqpD4dLEiITX0zH6IBCono7jr8HK44urlrxo+8bi"
    "oGbpqz7jRSMz4wqXbX4Te8gO0XQvp9nMoX2ACTkX2dukBiPif5Ub15vsV9ylpkc5qmYymr"
    "7ZSr2g7naV6fS5BGegp3KkRoAXGuBPY1wV7glkwILsCjZUDLWlK2L+YtcRsjrGH5kaMgzn"
    "PqtEVi4NiuVDyfrMBUsPWVyuaCydzHggH/w6Hsg7lH3m+EsEbZMQX7Db3XUF7uP0zuSfoR"
    "j+fNkBbg78QCvFciDC/MJIINXxhO3TLwkHdTwWmQKfZcJgztAog84+QPdB6ERCfV+yrL9I"
    "WjIHYgqCxk1hCoY5slt2V5hBHdbqTcI8NjatIlowQ6nWHiZmGolD5h9g80TcxzL4AJiUYX"
    "4AmtTlkDbAFGI07wEiXGvSO9ktM8Dtf9mIxJyydmjZbUtOfAogvEaMjMJVjOsY4EGe8Du3"
    "XST1kr8WRRmchkT2ZdIaKxR3t4gSl6pCYKDs+L7AInbOTUsU+BbzMB6hySGesUEiCU+jHR"
    "sMW4wAfBO4CqSh1ivzkDbTaNNT4SfgYaXDH51cY6b7PyuncBYaIGz0FB1pjQR2AiFREbWI"
    "6qsouPju5ix7owoDtEbAK6ZAtLEBvIfOs90W3IXnmB7X1SYwIeEW9IO1NkgnNOEb98ytPD"
    "pMhIO/cL7dxsVeU2DwZppJ17p507MOWzIhwgqaHpVcZWSc36ELFV1YrLLkneWZmYnCnCCn"
    "EpaR8eB+hkDF2ZOSwjvmTEVwniknZGfL1OXFILmVidNxJ0f+/O6Ta1H27ayOCkKi3n0y1K"
    "W1WO0q12MAdfVDkQ9prXEN2jHLjmpc3HEf7noN9L0dU2JFGBDqs2+A/g7t8Kor0FXA5GSI"
    "zzMT353PotCvddt38blc94B7dJ0kGRH7Nv/wWng1/Q"
)

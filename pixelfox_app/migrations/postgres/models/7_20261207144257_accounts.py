from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "guest_uploads" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "image_uuid" UUID NOT NULL UNIQUE,
    "delete_hash" VARCHAR(64) NOT NULL UNIQUE,
    "client_ip" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "guest_uploads" IS 'An upload without an account, by the image it makes: its delete link''s SHA-256.';
        CREATE TABLE IF NOT EXISTS "invites" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "prefix" VARCHAR(12) NOT NULL,
    "note" VARCHAR(100) NOT NULL,
    "max_uses" INT NOT NULL,
    "uses" INT NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "created_by_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
);
COMMENT ON TABLE "invites" IS 'A sign-up link of invite mode; only its token''s SHA-256 is stored.';
        ALTER TABLE "api_tokens" ADD "expires_at" TIMESTAMPTZ;
        ALTER TABLE "users" ADD "quota_bytes" BIGINT;
        ALTER TABLE "users" ADD "default_visibility" VARCHAR(16) NOT NULL DEFAULT 'public';
        COMMENT ON COLUMN users."default_visibility" IS 'PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" DROP COLUMN "quota_bytes";
        ALTER TABLE "users" DROP COLUMN "default_visibility";
        ALTER TABLE "api_tokens" DROP COLUMN "expires_at";
        DROP TABLE IF EXISTS "guest_uploads";
        DROP TABLE IF EXISTS "invites";"""


MODELS_STATE = (
    "eJztXX1z2ri6/yoa/tl0hmYakqY96bnnDknpLmdTkptAd+9ZzhhhK6CJkVzZDmX39H72K8"
    "k2+BVsAsR2NbPTDbYeWf49kvy866/GjBrItI/bFu7TR0QaF+CvBoEzxP9I3GuCBrSs1R1x"
    "wYFjUzaGFtYc0UxehmPbYVB3+J0HaNqIXzKQrTNsOZiKpzTawELMpgSaQJKBB8qA18L+AC"
    "gxFwA7Nrj/pf269fYcYBvYDmXIOBbdG1Tn/WMyeXZPLsFfXcRHPkHOFDHe3x//5pcxMdA3"
    "ZAc/rUftASPTiMCDDdGBvK45C0te6xLnk2woBjnWdGq6M7JqbC2cKSXL1pg44uoEEcSgg0"
    "T3DnMFWMQ1TR/ZAD9vpKsm3hBDNAZ6gK4pIBfU3gBW1xqa1rvpa/edvqY1EuwIKEK4+pd0"
    "SgQr+VBt+fYTMYTXrZOzd2fvT8/P3vMmcpjLK+++e49eAeMRSnh6/cZ3eR860GshMV6BKv"
    "+fgPVqClk6rkH7GLJ8yHFkAxzXQRtcWGG7mr2HAHcGv2kmIhNnyn+evHmzBsov7burX9p3"
    "R7zVK/FIypebtxJ7/q2Wd0/gvcJXrhBtCu1pEZSjVLvB+mWncQTp87McQJ+fZeIsbkVhth"
    "h6wN+KQLyiqONUbuWZya3sidyKA6wzJMDQoJME+SO/4+AZSgc6ShkD2/BJj4M/qgg9f0Hj"
    "hn/2/DW1Bvp+93Pnvt/+fCseN7Ptr6bEr93viDsteXURu3p0HmPTshPwW7f/CxA/wb9ueh"
    "0JL7WdCZNPXLXr/6shxgRdh2qEzjVohJZ/cDVALcJ1E9qO5tpb8T1OuwPO+0MuC+MrwugA"
    "k7WcRt8szLvbgs9RSsXlMnOZoScuWWyzmqOUistl5jLfdJlWSFsKUWxWmarwSd6B1iT00I"
    "fHVKVJwJVE9xNXcvGE/IoWEuQuHxEkepq25Cv6A7+bioH7PZg9wdXVamZwvlTcw5OKvzt/"
    "Y+R4Mnn7/qr9sdOQCI+h/jiHzNAiUIs7tEVjV5Ztk7dmrVn8CiRwIsERbyHG7KP+s4tsZ2"
    "CZFEbNCym3m+sMMBPRUHNly7w2GAK89mCO+YRwHQAJgLpOXeI0wXgBnCkCeMbHDbADZvAR"
    "2RfSluKBB0xMHn9aWlZSLDO77X9IhqS/pBgjk5KJDRwqu+H7FWJPyACj0f9JKEYjIDj+Ac"
    "ynFD0hBqaUs0O29bofEtE/OLKndE4A5UujCTCRDWxk2xwj/mxI7Dlir/jgFsDiL8DH6bfh"
    "2NpTZUMqoQ1Jzg/NddPAHQy6HzPQjVDFUBaXjwVt5Swda5CUWvepJxmEv/nyPaPqtrdiCt"
    "uNYmTKcLTRcKSbGBFHw1YRmCNEhzMfNRpVBVkZj34Q41FCaH4ZGa8rvi1p0p13Y61cJ79L"
    "+QS6bC6niCh/cHypGWhZkC+1f8eklr8aq9drcBlpKT6HVoEgQd8s5glMSyQin2Jb84h9Mv"
    "l2/pJpSHL+VvKHXKShZ4YGyP/N96gQTb6HeN+oAi8TIsh+iJL4DinxFZX1lJSXKuVxTYg5"
    "qZaabNkjTFM7+e7kPI/fKv5NC/mtzhOOQbHRFoA3aF9Dp2Dr7dsc6PJWmfDKe1F8KcMTTK"
    "DJ++QPKhhMkEpcO3l6L7jb+M8UqC/xJPPbFlDUycD7t1br9PRd683p+fu3Z+/evX3/Zvml"
    "S95a98m77P4svnoR/IPPYHi/hq2358V264CihhvK7hXFGS62gQTtFbg5wJ1jI+1bmLlhLN"
    "sfbsd4U2p5eAXlFOHJNMWYkYnlikCBmdhVHf7i6au+Q9xZwpkW3WAD4gOKDRajulBZOUbF"
    "IG7c3t1cde7vu72fL8CqlyG567Q//u8FELagxZB8anevOx/Fo7lYZMS9PC8jRz9hG4+xiZ"
    "3FtpyK9nBIdrljE+uFWTW4vO5ecTZJ6iEZ9K67933BFpeY2OZjHJLbu+6Xdr8jeImf/HlY"
    "JlZpDmQTlLJPFeVYqKOtGHeYYI8K80yYPZGhudYWNvI4rQrOKXNwTtSaWYTPUUrF5SpweZ"
    "zxuVzP4fGhP5FVdSxaLpvw52+xmKKUajGVeTEp93H2AquX+zia0iP1o634HqdV67vM6zvs"
    "6s5pTwmT1MmgvTOjSsgtnxPScHSCQnRjDLicgUl4VRB4NAg8vFDTo8Djs3YHmN47fCOboF"
    "u/t5pCG1qwEWTv+IZ8173qrwuwDwlX1MJeuFPMlejTffr1DplQvkMm3jKq6opaixqhHTWp"
    "QYahIHg+TF+8ruqK1Iw+IQ07aPZMrD7zfrq8m8pKZkmY9h7wKFdgVtBjsDw3BD5qq/1gcz"
    "7LDUGAt18A+iAyTbw8ESpyOxAQu5OXXBJEefAmBoCmKS8GK6oJoCPSOzADIvTGTia17OMh"
    "IrOlDRidi1ImsvcmINSRv0QsChClHMBn72G2oH7gQFAGWgAyBFryJie3JdmQnByfgzE2TY"
    "7Lq2OwzJn5iY9rTsBoJMY5GolSKCKTxWL8LlvI5/Im4mZWXssfPld8uczf8dcGji49YgWj"
    "Rn3Oa5L+WbGj3giKPFMSLweuQjxLEOJZPa8sIsY2LtlO76Pnj/Xoh+RL5677qSu8Rk+IYf"
    "76xpBc39z3L4DJFd9y+IuCkW1hG4mRKtNImU0j44WTKpyvifNbktQm0uTAUX7K3JzNkPqa"
    "m8NyVl5RIiyaKZOZMkLuB9E1RkgcpLM902C2TIurGLx5TWXhlaqskDuF9jlWyL1bRAJjW5"
    "ZRJGSM22QXCZsAd50YGp6ej5zfcvJRNvM094KJo8WTOJfvliOZUynhh1TCl5MhZwBR0L6G"
    "+RCneUpanmaXtDxNlLT0V1gBeFcUNQT4fQ5832fC+14lXqoEwMML1ioBsE7hnBXIUCu9MF"
    "GxJLUK4aksRMpCVE5ElYUoE15lIXpxaEtrISJPWI4kaRvy7jTXWoVkm9yH79h8Yrx2LVli"
    "VUSyeORAdBw6M0ee+/FTzlN4nttlUN5V0vuhKUGflgiyEUVkwWj0317H//V32dU/RqNj0H"
    "VkSxu41pCMRkIsdG1kj0ZBtVkbjBHXlhEnX9WHH40+8N9+Q/5A2RIZvBNRm5YSNCR8MhlY"
    "oAZNMLgVfqEmsClw5jQYmg041BwDeeqQGLI4Z0BUngU6JCKGZ0z5qCfIGRLsgCMLf0PmA/"
    "2mcU4eB4M79pn3SpWTLaHRSx2Zc5jcOXVkzn6PzOGbUbGjtejBY6YOYyjYy8FawTenwAYc"
    "JlG6Q4o2VhDPw2NZlZI2JTpNp2xztiIhQ7mi81SkWPaKqm+kmDpE6Uda2+NFMftkgm6rr2"
    "PJGLtnI+UKsx0Y1XIm1JYM4bzGtMT0ipjU+ChAb3B9/VImNZG110gxqMnrzXXmNJE3mNOY"
    "xjsT9h9xxtAiSAd7WKaDifOJIFelpoiBI4bG0OTThbdvAkPgyv96lTSm7aZLZUgqlyGpei"
    "lMfGKRbXKYrtu9npfE5PcwJHcD/xJz/Su37cG9yGqyoDiVdUiu2r2rzrWsNKkLCExTXP3I"
    "v6cXwJDW2DIWotRdZtOUwgvZH+QlgdJTE+5XMV1QIffrikLBGYdTrJoCWAbNFZBxIFcbTk"
    "4oVwQKzETQ2iO2rEJohigUnHE4ZX6lJuTVFEg3JmauCGuD7IFjMMfQ0adaevhrNvYRosNB"
    "33pTlWnN0FdximvhmqVxutp5r/bgefVkqG3qGkYolQGxzAZExFiantJH3zL2qCVBDZbQOk"
    "Z2fu9HeBgslaPP7d9fRfh4fdP7OWgeWlpX1zeXKmdfeWKEjYZtx/UopdpIy7yRPmCC7elW"
    "bI6RKj6Xmc82dZleMMEiQqNielLkeu/klmKoRmgUqpsdmN403IHz8sfICIis2oycgOQcVv"
    "DmhDeyfJ9RGviwZVyrgvZe67gu8cpwogdYrnekrwrw5klNsRB77fm8pQYK+H9fXcggcTDh"
    "14jDvNqrQHQNjmxXl2cr2LIUqswz8RM5UhzrO+89tX6K985eyZMgjyteI0W53pXrfaeHzU"
    "Wd40Ny/2v39lZc8L0nQ/I/g/Zdu9fv9sTV1aQviSNd2acOaJ+CDt+RrbQC8plbTZikNr6i"
    "nak1yuCXDXV9DX4vUYKhZBafXS+kkOyUN41qRaFsA5ttAzM/9vWZqmsQQlsxcPPqrKFJtb"
    "n8wqGLWpRsC3h2TYuXDhO/R47jvWBCyQ1uNdfpuLbXKK+GSwC1BHu56vlI6PiDVxeBTwV5"
    "WIjPHmBirn9iAiIVA0T7lDNJdtPlM+LFH1GhIA2/ucqKj2lFQWxGtiL7BE03Zav55/1NLx"
    "3qJUFcssS6A/4DxDHk1d3G02AWUKzXl+KqUUwuFB3E9SXXMrYU76OUSrwvi3if4gJMHB4W"
    "8K5YBFqUqgbGiX3scQkB9YW+/J4Dpsd/pX79Q7fXSwBeQz6RjAI1mDwiMOWzFhyNRvabk9"
    "EIDN3Wm9b5K1HUyAY6QwYiDobmqlASgDaAy/pJwiSdWo1pp52rVLJy2bPFPEvVkteVczEy"
    "1OTqy127L8ZtEFuTfxdAOExTu21/L0WjVztQ4fpaKaRlds+UJtj7CTHbd5HnhTpEUrtpvf"
    "ud48/UpLtsdP9Mz7pT0CahFaUVNRshsoUeFqdVsZflUbxSHCu2xoVnnGapvqTURJBkyI9h"
    "uhiLx3uMsgpEn8Oy9fLm5jrC0ctu3Pc7+HzZuTs6kazkjbwCs8p/WWhXq6aBI8t/WS7NW4"
    "Y+ZmveQWTkZs1bFEbJqXn/xjVYFJylLWziF1zlNTBD4kjtRXCWt9CXml7NYWFMt9yxiXVp"
    "Tnctk0IDDO6uU0zxu+5cad4l07wLKoW7VQhLpHPvpYqqhCcV3c1hegHtAQVpk+rQLChNN6"
    "5vrtrX4vBuTjskvU/3HO8He0juTy+AfRrfUPKwYsdHZTkYpQTi5WSCT3tAJkypU5QFv9z0"
    "LwCnG5Lf2nefLwD/nM2G5OrmWtQeouZWEZG7Pq+MYcqwk+J5yK6FEyI5XCTMSWVKCoyhze"
    "WEgufARYhqaGF6m2sbf7tmG3+b3MY9eUaT2Lks5WiSNUXdk6S1s4zsBXPdIFsBHqdTaOdB"
    "2xPTNWjhongnKRXieRAvg8sriXFC/q6scZWhSUG/wIqidjN49/DOi55+OH+B0w+rI8vp0I"
    "I6l3U1WcUsxUq8pvBZkrY2+SwHrn0mCrduw4EonUJ/O/QZshF7QtswIEF6yD3m3em7s5P3"
    "rbNaMUN5rA7sseLA+aJ0VjmGTbgnyBX8+eGfImg6U03kRrspm0+21JggPKDw6JJHQufkMD"
    "Lk7lOkhefNtbSxqz+mzfd1RqwYYe0E9r2Ep/mwFT+ZMEGo8M6DN0OWiXVZwkV7gMJhWkBf"
    "SidWKbYq1uPHjfVQKUx15npWClOBCJ9YDvMzq2vlzV8uG/8zS2tFdk1q4Z0AdEWtRV1Beo"
    "IMQ5JWV6YwTF+8ruqKlDxgTKNumt5asKBdvSHCKT4JhVDEC2kjWyRoPHPVDWRn915fdUJs"
    "n2GsUdBSAlkTqGaHsqZwc3Mw6404FJDRGbZREDzKX3uKgEMfEfnJBqORjY3R6AMYI53ORC"
    "FDArrekYIE8CuWiURfyUjWnfa8OYz1r8YK8vCx06IZ/8kCVHzKjCWgRQ+sDqZ4Q3bCoZQ/"
    "vhcKmR0Muh8LxMy6LjaOBc02S2hzfGfj7w8u0QWuQD5J/HP2j30p/WskYc8F6om2YaFVvv"
    "r6GFo5gQr68sM0tYul3X2an1drR0yOQhM6QnXYif0ymVEbZ3G47j/nV8Ho7zCNsgHmSgmm"
    "xEHE0bIjwTNMUzG62qF90soTYcxbZTsUWokoYwPpJmTIyDi/bJ0LOUGq3PjbeY4Fl4vDH6"
    "aqU9nDA4P/hG08xmZqoH2+jIdoD4c8nVlGShfcfBq3g8vr7tWFn3I2JIPedfe+LypCu0QU"
    "AxOFom/vul/a/Q5vxPCTX/v65b2fUcm+iAE7SllDA3Z1DdZJP0XVSrU3qIWKRhQ0bm47vQ"
    "tRs5HwFShPQffOQO/8ftu9Ez+9KVuS0uy6iYVoha1CAlmYqHbS2O41Nv/g0oJqcZRKwbwR"
    "ZuX8zoa+mm7QXM5vezvPt63O6ntp9uYSGkT1h2JV40MUdVKfdhYkxKc+K4ZoiEIhurkOv4"
    "AriW7hmvEDv5uKgZvlrGvGasaHJtXmOvyWH7D9TEh/jFP5QhtgOrIvUxdIzuc0P6o/z9e4"
    "T3mLfE7TbCxVtZ1yVdsRPC3qcwnTKE/hRoUIzSAulMC+JNgK3JIJwQfwaFnQtueU74tFS9"
    "wmCGtYfmQviIucOmOWGji2KRUvIDtgKtjySmVzwVTu44EB/+pS/sHcIu83Rlij7JgD+w39"
    "19Ce7z9M70n5EffnzVAW4B/EArxVIowozCSDDZ8ZTt22cF90U8FpkCv2XCUMbQKIPOH0D3"
    "QRhGQn1fsqq/SFvSC2I6hsxGoI1L7NkuuyPKKIrjdSbpHhMWZ0zimBSSeYeFkYOqWPmP8P"
    "MoZF7gVgkBh0Bh7RoskbYBtwGnmClywx7h/plZ7msbvuh2RI2gExbzSnzJkCm84QpyETj2"
    "A+xSaSZKIP7NVJb/JW8smyMhHjT+ZdIWLwR/t4gTF6oAyFh+dHdoEjPnLqOk0Q2EyAPoVk"
    "wjuFBEilfkgMbHMuiEGIDqCuU5c4r45Bh09jQ4xEnIEGF1x+dbAp2iz87j1AuKghclCQPS"
    "T0ATCkI+IA29V1fvHBNT3seBcW9IaIGaBzvrAksYXYa/+JXkP+yjPsbJMaE/KI+EPamCIT"
    "nnOa/BVQNneTIqPs3M+0c/NVVdg8GKZRdu6Ndu7QlM+LcIikhqZXFVulNOtdxFZVKy67JH"
    "lnZWJyrggrJKSkbXgcolMxdGXmsIr4UhFfJYhL2hjx9TJxSW3EsD5tpOj+/p3mOrUfrtqo"
    "4KQqLefmGqWtKkfpVjuYQyyqAgj7zWuI7l4OXPPT5pMI//P+ppehq61I4gId1h3wHyDcvx"
    "VEew24AoyIGBdgevS5/Xsc7qvrm8u4fCY6uEyTDg75Mfv+/w9pkpw="
)

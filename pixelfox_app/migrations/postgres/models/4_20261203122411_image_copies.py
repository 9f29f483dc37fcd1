from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "image_copies" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "state" VARCHAR(16) NOT NULL,
    "verified_at" TIMESTAMPTZ,
    "bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "image_id" INT NOT NULL REFERENCES "images" ("id") ON DELETE CASCADE,
    "pool_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_image_copie_image_i_439aac" UNIQUE ("image_id", "pool_id")
);
CREATE INDEX IF NOT EXISTS "image_copies_state_created" ON "image_copies" ("state", "created_at");
CREATE INDEX IF NOT EXISTS "image_copies_pool_state" ON "image_copies" ("pool_id", "state");
COMMENT ON COLUMN "image_copies"."state" IS 'PENDING: pending\nVERIFIED: verified\nLOST: lost';
COMMENT ON TABLE "image_copies" IS 'One copy of an image on one pool: its original and all its variants, at their paths.';
        ALTER TABLE "storage_nodes" ADD "zone" VARCHAR(32) NOT NULL DEFAULT '';
        ALTER TABLE "storage_pools" ADD "replication_factor" INT;
        -- Every ready image's one copy today is its primary, on its own pool: verified
        -- (the upload and processing checked it), so counts and reads see it at once.
        INSERT INTO "image_copies" ("state", "verified_at", "bytes", "created_at", "image_id", "pool_id")
        SELECT 'verified', COALESCE(i."processed_at", i."created_at"),
               i."size" + COALESCE((SELECT SUM(v."size") FROM "image_variants" v WHERE v."image_id" = i."id"), 0),
               i."created_at", i."id", i."pool_id"
        FROM "images" i WHERE i."state" = 'ready';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "storage_nodes" DROP COLUMN "zone";
        ALTER TABLE "storage_pools" DROP COLUMN "replication_factor";
        DROP TABLE IF EXISTS "image_copies";"""


MODELS_STATE = (
    "eJztXX1z2jga/yoa/rl0Js0k5KW97M3NkJRuuaWQC9Dd22XHEbYImhjJK9tJ2L1+95NkG/"
    "wKNnGI8Wmm0xZbjyz/Hkl+3vVXY04NZNpHLQsP6QMijUvwV4PAOeL/Sdw7BA1oWas74oID"
    "J6ZsDC2sOaKZvAwntsOg7vA7U2jaiF8ykK0zbDmYiqc0WsBCzKYEmkCSgSllwGth/wAoMR"
    "cAOzYYfGm9b55fAGwD26EMGUeie4PqvH9M7l/ck0vwHy7iI79Hzgwx3t9vv/PLmBjoGdnB"
    "T+tBm2JkGhF4sCE6kNc1Z2HJax3ifJYNxSAnmk5Nd05Wja2FM6Nk2RoTR1y9RwQx6CDRvc"
    "NcARZxTdNHNsDPG+mqiTfEEI2BptA1BeSC2hvA6lpD03r9oTZoDzWtkWBHQBHC1b+kUyJY"
    "yYdqy7e/F0N43zw5+3D28fTi7CNvIoe5vPLhu/foFTAeoYSnN2x8l/ehA70WEuMVqPLfBK"
    "zXM8jScQ3ax5DlQ44jG+C4Dtrgwgrb1ezdBbhz+KyZiNw7M/7z5Ph4DZTfWrfXX1q3B7zV"
    "O/FIypebtxJ7/q2md0/gvcJXrhBtBu1ZEZSjVOVg/bbTOIL0xVkOoC/OMnEWt6IwWwxN8X"
    "MRiFcUdZzKzTwzuZk9kZtxgHWGBBgadJIgf+J3HDxH6UBHKWNgGz7pUfCffYSev6DR5589"
    "f02tgX7Y+doeDFtfb8Tj5rb9hynxaw3b4k5TXl3Erh5cxNi07AT83Bl+AeIn+LXfa0t4qe"
    "3cM/nEVbvhrw0xJug6VCP0SYNGaPkHVwPUIlw3oe1orr0V3+O0JXDeH3JVGL8njA4wWctp"
    "hh75N2cbPkcpFZerzGW+HJlWSI4OUWwWpvdhsy5BnhYayvQhVZwWcCXR/czVH3xPfkILCX"
    "KHjwgSPU2O9lXAkd/NnoH7PZg9wdXVambwaanShScVf3f+xsjxpLXW4Lr1qd2QCE+g/vAE"
    "maFFoBZ3aJPGrizbJm/Nm/P4FUjgvQRHvIUYs496Zw7l7Eho5N6Nw3XqOBZN8qni2XCmKM"
    "e/8T2AmsEKhFy6+z2mL//VWL1egz6RJbQhwUuQoGcu8to2H8MSiaVmLQevecQ+mXw7f1Y2"
    "JDl/K/lD7iihZ4YGyP/O96gQTcZDlBlgl2YA102DdTTqfMr4LLipyIrLR4Jq7xTUNehJZe"
    "nU+2yHP8jyPaNakj2jzEn9wGYromGa2mn6Jxd5FNG4SBRSRC8Smr7YAwvAG7SvoZbfPD/P"
    "gS5vlQmvvBfFlzJ8jwk0eZ/8QQWtg6nEu0O+0dhf3G38ZwrUV/g+89sWUNRJLv97s3l6+q"
    "F5fHrx8fzsw4fzj8fLL13y1rpP3lXnR/HVi+AffAbD+zVsnl8U260DihpuKOXbZee42AYS"
    "tFfg5gD3CRtp38LMDWPZfnc7xnGl5eEVlDOun89STF+ZWK4IFJiJXdXhL56+6tvEnSdsIN"
    "ENNiDeodhgMaoLfZVjVAzixs1t/7o9GHR6P16CVS9jcttuffrPJRCegcWYfG51uu1P4tFc"
    "LPLm0pvL0Y/YxhNsYmexLaeiPeySXe7ExHphVo2uup1rziZJPSajXrczGAq2uMTENh/jmN"
    "zcdr61hm3BS/zoz8MqsUpzILtHKftUUY6FOtqKcbux0e8xz4RFEhmaa23hUYnTKp9KlX0q"
    "yjOevcjq6xn3P/Zb8T1Oq9Z3ldd32KWSUzkIk9TJOlOahhBy/+SENOwFU4hu9EPLGZiEVz"
    "mio47o8EJN90THZ20JmA4cvpHdoxu/t5pCG1qwEWRv+YZ827kernPyh4QramHPrR6zi/t0"
    "n3+6RSaU75CJt/TeX1NrUSO0o/ohZBgKgpfD9M3rqq5Izekj0rCD5i/E6ivvp8O72VvJLA"
    "nTqwfWyBWYFVwTLM8NATbaaj/YnPHSJwjw9gtApwASIDsAlPA/CIjd6VKmqQQuS97EANA0"
    "5cVgRR0C6ABnhjADwo9sJ5NhXuMhYzImLcDok0i0kb0fAkId+Us4VoFINABfvYfZgnrKga"
    "AMNAFkCDTlTU5uS7IxOTm6ABNsmhyXd0dgOEMe5d/4uJ4IuLsT47y7E4k6fBTCjDKHbCGf"
    "y5uIm1mZO7/5XPHlMn/HXxugtDTvFoxO8jmvSfoXxSh5IyjyTEm8HLiKV6pAvNL+uRgQMb"
    "bxL7R7nzzngkc/Jt/at53PHWECfUQM89c3xqTbHwwvgckV32oYP4ORbWEbiZEq00iVTSOT"
    "hZMqnK8JWlmS1MZtuuOQFWVuzmZIfc3NYTkrrygRFs2UyUwZIV8H0TVGSBykTbzQYLZMv9"
    "gzePOaysIrVVkhS4X2JVbIV7eIBMa2LKNIyBi3yS4SNgGWnYAUnp4PnN9y8lE29zT3gglK"
    "xZOFlu+mkoYqpoQvJ0PO4N6gfQ2De0/zFFw4zS64cJoouOCvsALwrihqCPDHHPh+zIT3o8"
    "oiUtkstc9m2YN8gMp/7fYsJWCP8FQmDGXCqCaiyoSRCa8yYbw5tFU1YYgYmEaK6UJeP1xn"
    "shBRODljOHhnHEOAHhFbBMEV02VwBXAogIQKUwU4YGgCTT5hePtDYAhE+f/eJSM2yulS1T"
    "Gtli1i/wIC+MQi20QEdFu9nhcS4PcwJrcj/xJz/Ss3rdFAxAhYUFTgG5PrVu+63ZVJiLqA"
    "wDTF1U/9XvsSGHzuVzNHUXeZTVPCmDNXy4qgNu7l8mRFMV1QIVlxRaHgjMMpVk0BLIPmCs"
    "g4kKsNJyeUKwIFZiL1/gFbViE0QxQKzjicMlpJE/JqCqQbw5xWhLVBdscWzQl09JmWbkzO"
    "xj5CtDvom8f7Mq0Z4m8lsue1SUb1h3Rk43S1q+z1CoXpPRlqmyzhCKUKhK1yICxiLE1PGa"
    "LnjD1qSVCDJbSOke1fhhEeBkvl4Gvrl3cRPnb7vR+D5qGldd3tX6kIWBUBK2w0bDuuRynV"
    "RlrljXSKCbZnW7E5Rqr4XGU+29RlekFvcIRGOS9T5HqvqFcxVCM0CtXNLmFvGir3ZTCRNr"
    "gvI6s2w4GZnMMK3pzwRpbvCwpt7LYowr6g/apVEZZ4ZTjRAyzXO9JX5SxyngH63vN5Sw0U"
    "8D9/uJBB4mDCrxGHeZUMgOgaHNiuLiuV2bKwgDzaU6cu4XxNcayX3ntqNoL3zl4CQRB0Es"
    "84UK535XovtQ5p1Dk+JoOfOjc34oLvPRmTf49at63esNMTV1eTviKOdGWf2qF9Cjp8R7bS"
    "yjFlbjVhktr4ikpTa5TBLxvq+hr83iJevGIWn7IXUkh2yoloiELZBjbbBuZ+7OsLVdcghH"
    "bPwM2rs4Ym1eZY8V1H4FdsC3hxAD4fAOiNut23ChMfIMfxXjCh5Aa3DtfpuLbXKK+GSwC1"
    "BHu56vlA6OQHWWlPTAVZes9nDzAx1z8xARZ+RuaUPmv8+UeifUqFv3K6fEG8+AMqFKThN6"
    "/dUYJlxWZkK7KP0HRTtpp/Dfq9dKiXBHHJEusO+C8QJ1Ts7zaeBrOAYr2+FFeNYnKh6CCu"
    "L7mWsaV4H6VU4n1VxPsUF2CiFG/Au2IRaFGqGhgnXmOPSwiob/Tl9xwwPf4r9esfur1eAv"
    "Aa8olk5E0bawGfCMz4rAUHd3f28cndHRi7zePmxbsj0OGfcJ0hAxEHQ1OUvhUEyADQBhAM"
    "vrTeN88vpEk6zc5dbucqlaxa9mwxzwqe4RwiqZ3cVX5pG4PYWtGThcM0tdv2X6UEy2oH0m"
    "bQLlTtJoW0yu6ZygR7PyJm+y7yvFCHSGo3rcvfOf5MTbrLRvfP9Kw7BW0SWhPajmYjRLbQ"
    "w+K0KvayOopXimPF1rjwjNMs1VeUmgiSDPkxTBdj8eQVo6wC0We3bL3q97sRjl514r7f0d"
    "er9u3BiWQlb4Q9g6vyX9bfwJHlv6yW5i1DH7M17yAycrPmLQqj5NS8f+YaLApOphE28Uuu"
    "8hqYIXFAzSI4GUfoS4fgCTszaUz3jveV5nTXMik0wOi2m2KKL7tzpXlXTPMuqBSWqxBWSO"
    "c+OT7OEwJ2fJwdAybuxbIDBDyp6G4O0wtodyhIm1SHZkFputHtX7e64igcTjsmvc8DjvfU"
    "HpPB6SWwT+MbSh5WlFx41sFp53LmZIJPu0MmzKhTlAVf+sNLMBPnjv3cuv16CfjnbD4m1/"
    "2uqD1Eza0iIsuu/sswZdhJ8Txk18IJkewuEuZkb0oKTKDN5YSCVZUjRDW0MJ3n2sbP12zj"
    "58lt3JNnNImdy1LqKK6pYp0krZ1l5FUw1w2yFeBxOoV2HrQ9MV2DFi6Kd5JSIZ4H8Sq4vJ"
    "IYJ+TvvTWuMnRf0C+woqjdDC4f3qeipdqf3qBU+/7Icjq0oM5lXW2L8x2TtLXJZ9lx7TNR"
    "uHUbDkTpFPrboc+Qjdgj2oYBCdJd7jEfTj+cnXxsntWKGcpjtWOPFQfOF6WzyjFswj1Bru"
    "DPD/8MQdOZySPn3ZTNJ1tqTBDuUHh0yQOhT2Q3MmT5KdLC8+Za2sTVH9Lm+zojVoywdgL7"
    "q4Sn+bBZDE3x8xZ4rwgV3nnwZsgysS5LuGhTKBymBfSldGKVYqtiPf5/Yz1UClOduZ6Vwl"
    "QgwieWw/zC6lp1O0EsumtSC5cC0DW1FnUFKXzG9wthCp0sXkek5AFjGnXT9NaCBe3qDRFO"
    "8UkohCJeSDs4m/5FQI1kZwOvrzoh9pphrFHQUgJZE6hmh7KmcHNzMGtfHArI6BzbKAge5a"
    "89Q8ChD4j8zQZ3dzY27u5+ABOk07koZEhAxztSkAB+xTKR6CsZyVpqz5vDWP9qrCBvoGcL"
    "cyFIiJyiGf/JAlR8yowloIUoD/2YQF8pRs8cSvnje6GQ2dGo86lAzKzrYuNI0GyzhDbHdz"
    "b+MXWJLnAF8knir7N/vpbSv0YS9lygnmgbFlrlq6+PoZUTqKAvP0xTu1ja8tP8vFo7YnIU"
    "mtARqt1O7LfJjNo4i8N1/zm/CkZ/h2mUDTBXSjAlDiKOlh0JnmGaitHVDu2TZp4IY94q26"
    "HQTEQZG0g3IUNGxvll61zICVLlxt/Ocyy4XBz+MFWdyh7uGPxHbOMJNlMD7fNlPER72OXp"
    "zDJSuuDm07gZXXU715d+ytmYjHrdzmAoKkK7RBQDE4Wib24731rDNm/E8KNf+/rtvZ9Ryb"
    "6IATtKWUMD9v4arJN+in0r1d6gFioaUdDo37R7l6JmI+ErUJ6C7p2B3v7lpnMrfnpTtiKl"
    "2XUTC9EKW4UEsjBR7aSx8jU2/+DSgmpxlErBvBFm5fzOhn4/3aC5nN/2dp5vW53V99bszS"
    "U0iOoPxarGhyjqpD6VFiTEpz4rhmiIQiG6uQ6/gCuJbuGa8SO/mz0DN8tZdxirGR+aVJvr"
    "8Ft+wPYLIf3/OJUvtAGmI/s2dYHkfE7zo/rzfI37lLfI5zTNxlJV26lWtR3B06I+lzCN8h"
    "RuVIjQHOJCCexLgq3ArZgQvAOPlgVt+4nyfbFoidsEYQ3Lj7wK4iKnzpinBo5tSsULyHaY"
    "Cra8sre5YCr3UVXrrMz2Ui8j1lax/KK2jIyXemFEaMvCQ9HNHk6DXOGzKudBxReXjFhJUH"
    "EVpoZAvbbdYF0YdhTR9VaELUKwJ4w+cUpg0ntMvDBpndIHzP+BjGERHA0YJAadgwe0OOQN"
    "sA04jXekvKgB7J+5kx6HXV73YzImrYCYN+IKhjMDNp0jTkPuPYKnGTaRJBN9YK+Q8SFvJZ"
    "8sS4cw/mTeFSIGf7SPF5igKWUoPDw/9AIc8JFT1zkEgVID9Bkk97xTSICUusfEwDbnghiE"
    "6ADqOnWJ8+4ItPk0NsRIxCFFcAH4VWyKNgu/ew8Q/iEVQeLIHhM6BQzpiDjAdnWdX5y6po"
    "cd78KC3hAxA/SJLyxJbCH23n+i15C/8hw728Suh0yW/pA2xrCH55wmfwWUh+XEsCtD1AsN"
    "UXxVFdbfwzTKELXREBWa8nkRDpHU0Daigh+U3lhG8MN+BU5WJDGkSkzOFQKBhJS0DY9DdC"
    "rIpcocViEZKiSjAoEDG0My3iZwoIUY1meNFN3fv3O4Tu2HqzYqemCflvPhGqVtX8663G9v"
    "q1hUBRD2m9cQ3Vc5EcnPa00i/K9Bv7c2FTZNoMO6A/4LRJ7XHqK9BlwBRkSMCzA9+Nr6JQ"
    "73dbd/FZfPRAdXb30u/ff/AcX/8yE="
)

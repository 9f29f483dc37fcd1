from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "image_copies" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "state" VARCHAR(16) NOT NULL /* PENDING: pending\nVERIFIED: verified\nLOST: lost */,
    "verified_at" TIMESTAMP,
    "bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "image_id" INT NOT NULL REFERENCES "images" ("id") ON DELETE CASCADE,
    "pool_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_image_copie_image_i_439aac" UNIQUE ("image_id", "pool_id")
) /* One copy of an image on one pool: its original and all its variants, at their paths. */;
CREATE INDEX IF NOT EXISTS "image_copies_state_created" ON "image_copies" ("state", "created_at");
CREATE INDEX IF NOT EXISTS "image_copies_pool_state" ON "image_copies" ("pool_id", "state");
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
    "eJztXftv27YW/lcI/7IUSIPEebQ3u7iAk7qrN9fOje2ud/Og0BJtE5FJTY8kXtf//ZKUZO"
    "tpS47iSBqBoq0lHkr6Dkmdx8ejb40F1ZBuHbUMPKT3iDQuwbcGgQvE/hM7dwga0DDWZ/gB"
    "G0500RgaWLF5M3EYTizbhKrNzkyhbiF2SEOWamLDxpRfpdECBjItSqAOhBiYUhO4LawfAS"
    "X6EmDbAoNPrbfN8wuALWDZ1ETaEe9eoyrrH5PZs3tyCP7TQezOZ8ieI5P19/sf7DAmGnpC"
    "lv/TuFemGOlaCB6s8Q7EccVeGuJYh9gfRUN+kxNFpbqzIOvGxtKeU7JqjYnNj84QQSa0Ee"
    "/eNh0OFnF03UPWx8+903UT9xYDMhqaQkfnkHNp9wbWxxqK0usPlUF7qCiNmDp8iQCu3iGV"
    "Eq5KdquWePoZv4W3zZOzd2fvTy/O3rMm4jZXR959dy+9BsYVFPD0ho3v4jy0odtCYLwGVf"
    "wbg/V6Ds1kXP32EWTZLUeR9XHcBK1/YI3tevTuA9wFfFJ0RGb2nP08OT7eAOWX1u31p9bt"
    "AWv1hl+SsunmzsSed6rpnuN4r/EVM0SZQ2ueB+WwVDFYv+4wDiF9cZYB6IuzVJz5qTDMho"
    "mm+CkPxGuJOg7lZpaR3EwfyM0owKqJOBgKtOMgf2BnbLxAyUCHJSNga57okf+fKkLPHlDr"
    "s9eeN6c2QD/sfG4Phq3PN/xyC8v6Uxf4tYZtfqYpji4jRw8uImpadQJ+7Qw/Af4T/NbvtQ"
    "W81LJnprjiut3wtwa/J+jYVCH0UYFaYPr7R33UQlrXoWUrjrWT3qOyBWjeu+WyKL4iivYx"
    "2ahpEz2wd84ueg5LSi2XWctsOppKLjs6ILHdmK7CYl2APc09lOl9ojnN4Yqj+5G5P3hGfk"
    "FLAXKH3REkapId7bmAI6+bioH73R89/tH1bDbh48qlCw4q9uzsiZHtWmutwXXrQ7shEJ5A"
    "9f4RmpoSgpqfoU0aObJqGz+1aC6iRyCBMwEOfwp+zx7qnQUUoyPmkbsnDje545g3yeaKp8"
    "OZ4Bz/ztYAqvszEDLr7o+Iv/ytsX68Bn0kK2gDhhcXQU/M5LUsdg8rJFaetbh5xRX2xMTT"
    "eaOyIcTZU4kfYkUJXDNwg+zvbJcKyGS7iDtIcjxMQCD9IjLWsM9Yg+MkwToadT6kvHucRG"
    "T54SMuVTkveAN6wiM7dW2D4FtfPGfYFbPm1LQT3+Lp3m5QpnbhhJOLLN5u1O4KeLsXsXAC"
    "X2hzwOu3r2EooXl+ngFd1ioVXnEujC818QwTqLM+2YVyhiAThfeHfKNRXdwt/FcC1Fd4lv"
    "pu8yXqZPz/q9k8PX3XPD69eH9+9u7d+fvj1ZsufmrTK++q8xN/64Xw91+DwfUaNs8v8q3W"
    "vkQNF5Tig78LnG8B8dtLcDOA+4i1pHdh6oKxar+/FeO41PbwGso5wrN5QnwtFcu1gAQztq"
    "ra7MGTZ32bOItYoCW8wPrCezQbDJOq3GVlGOWDuHFz279uDwad3k+XYN3LmNy2Wx/+dwl4"
    "+mE5Jh9bnW77A780M4vcsfTqdvQDtvAE69he7qqpcA/7VJcz0bGaW1Wjq27nmqlJSI/JqN"
    "ftDIZcLQ7RscXucUxubjtfWsM21yV+8MZhmVSl2NCcoYR1Kq/GAh3tpLj9JAIqrDMe9kSa"
    "4hg7pG2isjJxU+bETTiamUfPYUmp5SpoeZLyutys4cm+X5H7CYS8AFnIMWfs+jtMprCknE"
    "xlnkySsZQ+werLWPL8o530HpWV87vM8zuY6s4YTwmK1CmgXVhQJZCWzwhpkJ0gEd3KDxIj"
    "MA6vJAiFCULBiZrMEIqO2gIwHdhsIZuhG6+3mkIbmLAhZG/ZgnzbuR5uIl8FjCtqYJfuFE"
    "klenIff7lFOhTPkIq3YFVdU2NZI7TDITVoYsgFng/TF7eruiK1oA9IwTZaPBOrz6yfDuum"
    "spZZHKYXJzyKGZhGevSn5xbio7JeD7bvROwTBFj7JaBTAAkQHQBK2B8E+Op0KbYP+iwP1k"
    "QDUNfFQX9GHQJoA3uOsAk49caKb1J8iYuMyZi0gEkf+QZI0fshINQWvzgXBfANYOCzezGL"
    "S08ZENQETQBNBJriJBO3hNiYnBxdgAnWdYbLmyMwnCNX8gd2X48E3N3x+7y74xso2V3wyP"
    "MCmktxXdaEn0zbUfm7pxXPLvNW/I3E0VVGLCdr1NO8IuSfxR117yDPNYXw6sYlxbMEFM/q"
    "ZWUR0XZJybZ7H9x8rCs/Jl/at52PHZ41ekAmZo+vjUm3PxheAp05vuXIF/l3tkNsJCIqQy"
    "NlDo1Mlnaicb6B57cSqQ3TZM8sPxluTldIfcPNQTsrqykRNM1kyEwGIV8G0Q1BSOxvZ3tm"
    "wGy1La5i8GYNlQVnqoxCFgrtc6KQLx4R8YNtaUGRQDBuW1wkGAIsemNocHjeM32LwUfNhe"
    "u559w4mn8T5+rZMmzmlE74Pp3w1WDISCDy29dwP8RplkI4p+mFcE5jhXC8GZYD3rVEDQF+"
    "nwHf96nwvpcbL+UGwP0b1nIDYJ3onBXYoVZ6Y6Jim9QqhKeMEMkIUTkRlRGiVHhlhOjVoS"
    "1rhIhTjBoJkSFx/HBTRIiTnDJSZFhnDEOAHpC59Lkr0xV3BdgUQEJ5JAgcmGgCdTZgWPtD"
    "oHFE2f/exAkxxXQpy3eXK9RTPb4FG1hkF8JFt9XruYwLr4cxuR15h0zHO3LTGg04BcOAvP"
    "DsmFy3etftrtgWr3IIdJ0f/dDvtS+BxsZ+OXfNq45p0QSWeOpsWQvUJntfnK3IhwvKZSuu"
    "JSScUTj5rMmBpd9cAhkFcr3gZIRyLSDBjEXY7rFh5EIzICHhjMIpyGAKt1cTIN3KIlsL1g"
    "bZPQeMJ9BW50pyrD4d+5DQ/qBvHldlWJuIPZWVv8BCVE7G5LfG5D0bapdN2CFJyTMuM88Y"
    "mWaSnzJETylr1EqgBlNokyLbX4chHfpT5eBz6+ubkB67/d5PfvPA1Lru9q8kwVgSjHmMxt"
    "xN62FJuZCWeSGdYoKt+U5qjohKPZdZzxZ1TDVnNjgkI5OXCXa9W2YyH6ohGYnq9pSwOwxl"
    "+tIfSFvSl6FZm5LAjI9hCW9GeEPT9xl1TPZbc6IqaL9o0YkVXilJdB/LzYn0dbWQjJ++fu"
    "vmvIUHCtifPx1oQmJjwo4R23QLRQDeNTiwHFUUgrNE3QbxRWuVOoTpNSGxXnjviZs93Gd2"
    "92f4pJPohg6Zepep90IrY4eT42My+KVzc8MPeNmTMfnvqHXb6g07PX50PehLkkiX8ak9xq"
    "egzVZkI6naVepSExSpTa6oMLdGBvzSoa5vwO81+OIli/gUPZECtlNGRAMSMjawPTaw8Liv"
    "z3RdfQptxcDN6rMGBtV2rvi+GfglWwKeTcBnNwB6o273tWjiA2Tb7gPGnFz/1OEmH9dyG2"
    "X1cAmgBlcvcz3vCZ38KAoZ8qEgKht66gE6Zv4nJsDAT0if0ieFXf+It08ooFhMl8/gi9+j"
    "XCQNr3ntPm5bFDcj3ZF9gLqTsNT8POj3kqFeCUQtS6za4G/Av5lU3WU8CWYOxWZ/KeoaRe"
    "xC3kHUX3IMbUfzPiwpzfuymPcJKcBYpWNfd/kYaGGpGgQnXmKNixmor/TmdxMwPfYr8e0f"
    "OL3ZAnAbsoGkZd021gKeEJizUQsO7u6s45O7OzB2msfNizdHoMNe4aqJNERsDHVeWZgLIA"
    "1AC0Aw+NR62zy/ECHppDh3sZ3LrWTlimfzcZboJacvSwGR2tldxVcO0oil5P3WfVCmdsv+"
    "i1S4Wa9AyhxauYoJJYiWOT1TGrL3AzItL0WeFeqASO2GdfErx1+Jm+7S0f0rededhDYOrQ"
    "4tW7EQIjv4YVFZyb0sj+OVkFixFGY846RI9RWlOoIkxX4MykVUPHlBlpVv+uxXrVf9fjek"
    "0atONPc7+nzVvj04EapkjbAbcJX5y/oHONLyl+XyvAX1Md3z9pmR2z1vXhglo+f9K/Ngkf"
    "/hHx4Tv2Qur4ZNxL//s/Q/PMT9pUPwiO25CKa7H5wX4XTH0CnUwOi2mxCKL7pz6XmXzPPO"
    "6RQW6xCWyOc+OT7OQgE7Pk7ngPFzkd0BHJ5EdLfT9HzZPRrSOlWhntOabnT7160u/9IQkx"
    "2T3scBw3tqjcng9BJYp9EFJYsqCq7ra+Okz55mVIInu0clzKmdVwWf+sNLMOefdfu1dfv5"
    "ErDX2WJMrvtdXnuI6jsxIosurmxiamI7IfOQXgsnILI/JsxJZUoKTKDF7IScRatDQjWMMJ"
    "1nWsbPNyzj5/Fl3LVnFIGdYybUUdxQJDwuWrvIyItgrmpkJ8CjchLtLGi7ZroCDZwX77ik"
    "RDwL4mVIecUxjtnflQ2ummiWMy+wlqjdCC4e3se8pdofX6FUe3VsORUaUGW2rrLD5zPjsr"
    "XZz7Ln2me8cOsuGgjLSfR3Q99EFjIf0C4KiInuc415d/ru7OR986xWypAZqz1nrBhwnimd"
    "Vo5hG+4xcQl/dvjnCOr2XOF7o52ExSfdaowJ7tF4dMg9oY9kPzZk8VukeebNMZSJo94njf"
    "dNQayIYO0M9hehp3mwGSaa4qcd8F4LSryz4G0iQ8eqKOGiTCFPmObwl5KF5RZbyfX453I9"
    "5BamOms9bQtTDoZPZA/zM6tr1e0LYuFVkxq4EICuqbGsK0jBT6g/E6bAh9vriJT4wJhCnS"
    "S/NWdBu3pDhBNyEhKhUBbSQhbfoPHMWTcSnQ3cvuqE2EvSWMOgJRBZY6imU1kTtLmdzNrn"
    "HwU06QJbyCePsseeI2DTe0R+sMDdnYW1u7sfwQSpdMELGRLQcT8pSAA7YuiI9xVnshba83"
    "Ya67fGGvIGejIwM4K4ycmbsZ+mj4onmTIFlIDkoccJ9Jxi9MSgFD++56LMjkadDzk4s46D"
    "tSMus8sU2s7vbPx76hCV4wrElfhfZ/95Kad/gyXspkBd0zZotIpH38yhFQMoZy4/KFM7Lm"
    "3x2/zcWjt8cOQa0CGp/Q7s19kZtXUUB+v+M33lZH8HZWQMMNOWYEpsRGwlnQmeEpqKyNUO"
    "7ZNmFoYxa5WeUGjGWMYaUnVoIi3l+2WbUsgxUZnG3y1zzLWcH/6gVJ3KHu4Z/Ads4QnWE4"
    "n22XY8hHvY59eZBVM65+LTuBlddTvXl96WszEZ9bqdwZBXhHYILwbGC0Xf3Ha+tIZt1sjE"
    "D17t69fPfoYt+zwB7LBkDQPY1Q1Yx/MUVSvV3qAGyssoaPRv2r1LXrORsBkovoLufgO9/f"
    "Wmc8t/ukO2JKXZVR1z0wobuQyyoFDtrLHiPTbvw6U53eKwlIR5K8wy+Z0OfTXToJmS39Zu"
    "mW9LfqvvtdWbyWjg1R/yVY0PSNTJfSqMJMSGvpkP0YCERHR7HX4OVxzd3DXjR143FQM3LV"
    "l3GKkZHxhU2+vwGx5h+5mQ/jO+yhdYAJORfZ26QGI8J+VRvXG+IX3KWmRLmqZjKavtlKva"
    "Dtdp3pxLUEZmCrc6RGgBca4N7CuBncAtmRG8h4yWAS3rkbJ1MW+J25hgDcuPvAjifE+dtk"
    "gkjm3biueL7XEr2OpIZfeCyb2PslpnaZaXegWxduLy89oygi/1TEZoy8BD3k0Fh0Em+qzc"
    "8yD5xQUjVhBUzIWpIVAvHTfYRMMOI7o5irADBXti0kcmCXQ6w8SlSauU3mP2DzRNzMnRwI"
    "REowtwj5aHrAG2AJNxPynPawB739xJ5mEX1/2YjEnLF2aNmINhz4FFF4jJkJkr8DjHOhJi"
    "vA/sFjI+ZK3ElUXpEJNdmXWFiMYu7eEFJmhKTRS8PY96AQ7YnVPHPgS+UwPUOSQz1ikkQF"
    "jdY6Jhi2mB3wTvAKoqdYj95gi02TDW+J3wjxTBJWBHsc7bLL3uXUDYi5STxJE1JnQKTKQi"
    "YgPLUVV2cOroLnasCwO6t4hNQB/ZxBLCBjLfeld0G7JHXmB7F+56IGTp3dJWDntwzCnily"
    "95WAyHXQainhmIYrMqt/8elJGBqK2BqMCQz4pwQKSGsRFJfpB+YxHkh2oRJ0uyMaRMSs5E"
    "gUDcStpFxwE5SXIps4YlJUNSMkpAHNhKyXgd4kALmVidNxJ8f+/M4Sa3H67bSPZAlabz4Q"
    "anrSrfuqx2tpVPqhwIe81riO6LfBHJ29caR/jnQb+3cStskkGHVRv8Dfg+rwqivQFcDkbI"
    "jPMxPfjc+hqF+7rbv4raZ7yDq9f+Lv33/wPC8yeq"
)

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "user_sessions" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "address" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "ended_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_user_sessio_expires_9ce72a" ON "user_sessions" ("expires_at");
CREATE INDEX IF NOT EXISTS "user_sessions_user_address" ON "user_sessions" ("user_id", "address");
COMMENT ON TABLE "user_sessions" IS 'One browser login: the cookie carries a random key, this row only its SHA-256.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "user_sessions";"""


MODELS_STATE = (
    "eJztXXlv4zYW/yqE/9kMkAaJc0w2XSzgZDyttx4762PabV0otETbRGRS1ZFju/Pdl6QkW6"
    "ctObIjqQQGM2OKj5J+75F6Fx//bCyphnTrpGXgEX1EpHED/mwQuETsP7Frx6ABDWN9hTfY"
    "cKqLztDAis27iWY4tWwTqja7MoO6hViThizVxIaNKb9LowUMZFqUQB0IMjCjJnB7WN8DSv"
    "RXgG0LDH9sfde8vALYApZNTaSd8OE1qrLxMZm/eSSH4D8cxJ58juwFMtl4v/3OmjHR0Auy"
    "/J/GozLDSNdC8GCNDyDaFfvVEG0dYn8WHflDThWV6s6SrDsbr/aCklVvTGzeOkcEmdBGfH"
    "jbdDhYxNF1D1kfP/dJ113cRwzQaGgGHZ1DzqndB1i3NRSl1x8pw/ZIURoxdvgUAVy9JpUS"
    "zkr2qJZ4+zl/hO+aZxcfL67Pry6uWRfxmKuWj9/cW6+BcQkFPL1R45u4Dm3o9hAYr0EV/8"
    "ZgvVtAMxlXv38EWfbIUWR9HDdB6zessV1L7yHAXcIXRUdkbi/Yz7PT0w1Qfm0N7n5sDY5Y"
    "rw/8lpRNN3cm9rxLTfcax3uNr5ghygJaizwoh6mKwfp9xTiE9NVFBqCvLlJx5pfCMBsmmu"
    "GXPBCvKeooys0sktxMF+RmFGDVRBwMBdpxkD+xKzZeomSgw5QRsDWP9MT/TxWhZy+o9dln"
    "z5tTG6Afdb60h6PWl3t+u6Vl/aEL/FqjNr/SFK2vkdajqwibVoOAnzujHwH/CX7t99oCXm"
    "rZc1Pccd1v9GuDPxN0bKoQ+qxALTD9/VYftRDXdWjZimPtxPcobQGc9x65LIyvCKN9TDZy"
    "2kRP7JuzC5/DlJLLZeYym46mkkuPDlBsV6arsFgXoE9zC2X2mKhOc7ji6H5m5g+ek5/Qqw"
    "C5w54IEjVJj/ZMwLE3TMXA/eZLj9+6ns0mfF6ZdEGhYu/O3hjZrrbWGt61PrUbAuEpVB+f"
    "oakpIaj5FdqkkZZV3/ilZXMZbYEEzgU4/C34M3uod5ZQSEfMIncvHG8yxzHvks0UT4czwT"
    "j+ja0BVPdnIGTa3e8Re/nPxvr1GvSZrKANKF6cBL0wldey2DOskFhZ1uLhFZfYIxNv50ll"
    "Q5CztxI/xIoSuGfgAdnf2W4VoEm5iXQDHNIN4DhJsI7HnU8pnwUnEVnefMKpKmegbkBPGE"
    "vn7mc7+EEW7xm2kqwFNe3ED2y6IRqkqZ2lf3aVxRCNqkQBQ/QqZunzNTAHvH7/Glr5zcvL"
    "DOiyXqnwimthfKmJ55hAnY3JbpTTO5hIfDjkG43q4m7h/yZAfYvnqd82n6JOevnfm83z84"
    "/N0/Or68uLjx8vr09XX7r4pU2fvNvOD/yrF8Lf/wwG12vYvLzKt1r7FDVcUIr3yy5xvgXE"
    "7y/BzQDuM9aSvoWpC8aq/+FWjNNS68NrKBfMPl8kuL5SsVwTSDBjq6rNXjx51reJs4z5QM"
    "ILrE98QLXBMKnK7VWGUT6IG/eD/l17OOz0frgB61EmZNBuffrPDeCRgdcJ+dzqdNuf+K2Z"
    "WuTK0rvr0U/YwlOsY/t1V06FRzgku5ypjtXcrBrfdjt3jE2CekLGvW5nOOJscYiOLfaME3"
    "I/6Hxtjdqcl/jJk8MysUqxoTlHCetUXo4FBtqJcYfx0VeYZ9wjiTTFMXaIqERpZUylzDEV"
    "GRlPn2T1jYx7H/ud+B6llfO7zPM7GFLJaBwESerknSnMQgiEfzJCGoyCSUS3xqGFBMbhlY"
    "HocCA6OFGTI9FRqS0A06HNFrI5uvdGqym0gQkbQnbAFuRB5260KcgfMH2giSG/cwz2W4/y"
    "808DpEPxFqmIi/j9V3eoGkEe9rTSJ6RgGy3fiNUXNk6HDVNZpSMO095zRnzRSksdCYjelg"
    "wSJSjwRWeSuHdw5+QjY5IQFGou3QSRnJkm+bM+Vu8msz9Klv2xEoaMURq/fw2jNOdZMufP"
    "0zPnz2OZ894MywHvmqKGAF9nwPc6Fd5rmQ4i0xJqn5ZQgcBu6b92FYvtVgjPoBqZVRELkE"
    "hMpUPs8A4x7Kfwv9F5s9oKUDF4s7ptgjNVesQKhfYtHrF9ujC4x6eR4LoQ7cebXBbc55Sx"
    "/AQbjGEI0BMyX4EQMkBngBIEOCzApgASyl0V4MhEU6gzgWH9j4HGEWX/+xCvQ1HMkLIgRb"
    "l8EdVLHmOCRXZJHeu2ej03ccwbYUIGY6/JdLyW+9Z4yPNdDMi3Uk/IXat31+6KbDKVQ6Dr"
    "vPVTv9e+ARqT/XImm6mOadGEeFTqbFkTyPTKmK7IxQXl0hXXFBLOKJx81uTA0u8ugYwCuV"
    "5wMkK5JpBgxnKoH7Fh5EIzQCHhjMI5fbWRpXB9NQHSTd7MCGFtkD2wR3MKbXWhJDuT07EP"
    "ER0O+uZpVcTaROyteBq0Mk1J409GNkpXuy2ae6gw5upQu6R7hihlsmeZkz2RaSbZKSP0kr"
    "JGrQhqMIU2MbL9yyjEQ3+qHH1p/fIhxMduv/eD3z0wte66/VtZU05mznMfjbkb18OUciEt"
    "80I6wwRbi53YHCGVfC4zny3qmGrOaHCIRgYvE/R6d3dmPlRDNBLV7SFhVwxl+NIXpC3hy9"
    "CsTQlgxmVYwpsR3tD0fcOOicNuAagK2nvdA7DCKyWI7mO5OZC+3ryR8TCH79yYt7BAAfvz"
    "hwNNSGxMWBuxzVceDYeADw2OLEcVW04tAE3kntGgUocwviYE1gsfPXE3gvvO7gYCP+kkuu"
    "NAht5l6L3QghLh4PiEDH/q3N/zBi96MiH/HrcGrd6o0+Ota6EvSSBd+qcO6J+CNluRjaTN"
    "h6lLTZCkNrGiwswa6fBLh7q+Dr/3yBcvmcen6IkU0J0yIhqgkL6B7b6BpZf7+kbT1U+hrR"
    "i4WW3WgFBtzxU/dAZ+yZaANyfgswcAvXG3+15p4kNk2+4Lxoxc/9LxJhvXcjtltXAJoAZn"
    "LzM9Hwmdfi/OFOSiACDRgMceoGNmf2ICDPyC9Bl9Udj9T3h/K8GsLWTIN+SLP6JcSRpe99"
    "rVhC8qNyPdkH2CupOw1Pxr2O8lQ70iiGqWWLXB/wAvNVjdZTwJZg7FZnspahpF9EI+QNRe"
    "cgxtR/U+TCnV+7Ko9wkhwFjhGZ93+TLQwlQ1cE7sY42LKajv9OV3AzA99ivx6x+4vFkDcD"
    "syQdKybhtrAY8ILJjUgqOHB+v07OEBTJzmafPqwwnosE+4aiINERtDfX3YMIAWgKsziLlL"
    "OsnPXezgcitZufzZXM5yHsYTIKmd3lV8aRuNWEreI2KCNLVb9vdSgmW9AuU+RzqBtMzhmd"
    "Ikez8h0/JC5FmhDpDUTqyLXznE4cAWQmTXg4UDtDJBsDzWQYL331KYhoeT3Km3lOoIkhQl"
    "J0gXYfF0j6lA/vf5sGy97fe7IY7edqIByvGX2/bg6EywknXCrldQBtnqb4WnBdnKZR6K/L"
    "x089BP39tuHvLqHRnNw5+ZmYXc2h+WcNzeMLtMwyZS2VivzDIT5UC4Un8MnrG9EB5f9zAR"
    "4fN1DJ1CDYwH3QR/cdGDS/OwZOZhTsulWKulRIbh2elpljyl09P0RCV+LZLCzuFJRHd7Lp"
    "lPe0BFWqcq1HNq041u/67VvQGCdkJ6n4cM75k1IcPzG2CdRxeULKwouDqqjZNOAcjIBI/2"
    "gExYUDsvC37sj24Ao5uQn1uDLzeAfc6WE3LX7/ICOVTfKW2v6BK1JqZm4jlr6QVbAiSHS9"
    "c4q8y+9ym0mJ6Qs/RviKiGbpDLTMv45YZl/DK+jLv6jCKwc8yEYn8bSi3HSWvnGdkL5qpG"
    "dgI8SifRzoK2q6Yr0MB58Y5TSsSzIF6GuEwc45j+XVnnqonmOZ3Xa4raSXDx8D7nrSf+/A"
    "71xKujy6nQgCo/klaU2krwEm+ozhWnrc2miwMX6OLVRXfhQJhOor8b+iaykPmEdmFAjPSQ"
    "a8zH848XZ9fNi1oxQ0asDhyxYsB5qnRazYBtuMfIJfzZ4V8gqNsLhW/gdRIWn3StMUZ4QO"
    "XRIY+EPpPD6JD7OR7eMZSpoz4myfsmJ1aEsHYK+15yqDzYDBPN8MsOeK8JJd4Zc9ZkEsJf"
    "IglBbgCpM9fTNoDkSD2J7AAt4ijnCvI/tTBRKO1Unnad47RrS6FOkq2Qs9JVvSHCCX5giV"
    "Ao8mP5h1a/CaixGGzojlUnxPaZOhgGLSF5MIZqevpgAje3JxD2+WlhJl1iC/kJe+y1FwjY"
    "9BGRv1ng4cHC2sPD92CKVLrkFc4I6LhnjRHAWgwd8bHi2YOFjrw9dTB0Njt6MTD7vivuwe"
    "6bDmaPgKYEKI+LOZx9PO58ypGn6DhYO+E0u0yh7Tl1jX/MHKJyXIG4E//r4p/7MrQ2KHlu"
    "2MnV2oL6mHj1zXmLQoByxk+DNLXLXyx+/49bhIMLRy6BDlEdVrDfZzfKVikOFgRn/MqZcR"
    "ukkX6XTH4XSmxEbCU9+zbF6xKhqx3aZ80sWZ2sV7oTtxnL7NSQqkMTaSkHG20K28VIZeh0"
    "t2gd53J++INUdaqHdmDwn7CFp1hPTG7OlmUeHuGQx7aK7NSci0/jfnzb7dzdeNt8JmTc63"
    "aGI14q1iG8ShCvIHs/6Hxtjdqsk4mfvKK47x9xCmv2eXyzYcoa+mar64uNu+CrVsO5QQ2U"
    "N4rb6N+3eze8mBthM1Acj+wejtz+5b4z4D9dkS1JzWZVx1y1wkYuhSxIVDttrHiLzTvRMK"
    "dZHKaSMG+FWcZ106GvZoQvU1zX2i2oa8lDvN6bvZmUBr7jPl856QBFncynwpLameib+RAN"
    "UEhEtxfo5nDF0c1dTHrsDVMxcNOCdceRYtIBodpeoNvwkmTfCOlf47iuwAKYjOz71GIR8p"
    "wUR/XkfEP4lPXIFjRNx1JWOClXhRPO07wxlyCNjBRuNYjQEuJcm4ZXBDuBWzIl+AARLQNa"
    "1jNl62Le2pcxwhqWfNgL4nwfk7ZMTBzbtv3JJzvg9ptVS2X338j9ZrJCYmmWl3o5sXZKU+"
    "f1PES+1BszQlsGHvFhKigGmdJnZTq/zC8uGLGCoGImTA2B2rffYFMadhjRzV6EHVKwpyZ9"
    "ZpRAp3NM3DRpldJHzP6Bpol5cjQwIdHoEjyi12PWAVuA0bhnTfO6q95hHMl52MUNPyET0v"
    "KJWSdmYNgLYNElYjRk7hI8L7COBBkfA7vFY49ZL3FnUa7BZHdmQyGisVt7eIEpmlETBR/P"
    "S70AR+zJqWMfA9+oAeoCkjkbFBIgtO4J0bDFuMAfgg8AVXEC94cT0GZirPEn4aeXwFfAWr"
    "HO+7x6w7uAsA+pKc7wnhA6AyZSEbGBd7D3zNFd7NgQBnQfEZuAPrOJJYj5eeHeHd2O7JWX"
    "2N4ldz3gsvQeaWsOe1DmFPHLpzwuJoddOqLe6Ihisyq3/R6kkY6orY6ogMhnRThAUkPfiE"
    "x+kHZjEckP1UqcLMnGkDIxOVMKBOJa0i48DtDJJJcyc1imZMiUjBIkDmxNyXifxIEWMrG6"
    "aCTY/t6V401mP1z3kdkDVZrOxxuMtqocglftaCufVDkQ9rrXEN29nELj7WuNI5x+FnyARJ"
    "4Gn/M0+BzxtuI/Zt/+DwB11lk="
)

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "albums" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "short_id" VARCHAR(16) NOT NULL UNIQUE,
    "title" VARCHAR(200) NOT NULL,
    "description" TEXT NOT NULL,
    "visibility" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "cover_id" INT REFERENCES "images" ("id") ON DELETE SET NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "albums_owner_created" ON "albums" ("owner_id", "created_at");
COMMENT ON COLUMN "albums"."visibility" IS 'PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private';
        CREATE TABLE IF NOT EXISTS "album_images" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "position" INT NOT NULL,
    "added_at" TIMESTAMPTZ NOT NULL,
    "album_id" INT NOT NULL REFERENCES "albums" ("id") ON DELETE CASCADE,
    "image_id" INT NOT NULL REFERENCES "images" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_album_image_album_i_c63128" UNIQUE ("album_id", "image_id")
);
CREATE INDEX IF NOT EXISTS "album_images_order" ON "album_images" ("album_id", "position");
COMMENT ON TABLE "album_images" IS 'One image in one album, at ``position`` (0 first; gaps allowed).';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "albums";
        DROP TABLE IF EXISTS "album_images";"""


MODELS_STATE = (
    "eJztXX1z2jq6/yoa/jnpTJppSJN20727Q1Lawx4CuQn0dHfZMcZWQBMjuZYdyjnb+9mvJN"
    "vgV7CJcYyrmTOnwdYjy79Hkp93/dmYEx0a9KRlTJx54xL82cDqHLI/wjeOQUM1zfVlfsFW"
    "J4ZoqfIm4pI6obalaja7+qAaFLJLOqSahUwbEcyuYscw+EWisYYIT9eXHIy+OVCxyRTaM2"
    "ixG//+D7uMsA6/Q8p//tl4QNDQxd8NssDQUpDOn6pZULWhrqh2g5PA76YFKWUPpH4v/ju5"
    "I1VcYo9MvMrSFPcbgpy9gvjxg5Oaj4p4bAgb97niuuLTdrD9STTk7zdRNGI4c7xubC7tGc"
    "Gr1gjb/OoUspGIUVwC23I4YBwPD1kfQxebdRMXlACNDh9Ux7ADAE+U9bWGovT6A+W+PVCU"
    "Rg6WaAxBhgUbKhVvP+VDeN08ffvu7fuzi7fvWRMxzNWVdz/cR6+BcQkFPL1B44e4r9qqsu"
    "bkGlQ6I5atJEF7PVOtZGyDNBGE2dCjCPt4VhfiufpdMSCe2jP28/RiA55fWnfXv7bujk4v"
    "XvEHErbs3NXY8+40xS0O+RpiG9msUQ58VwTFgOtfWKO73iZKh7f55k0GfFmrVIDFvTDCwZ"
    "HFcB6wvSUZ5whZeWg3GnvCegO0g/bXAe95Tuk3I4jo0U3rqwB7vvTudPu9z37zAAeuu/2r"
    "CPBPiKIJMpC9TJ7fbezMBfYdNkwVazDGg3APJbLAdCYG0nIyonE7vOp2ri+BSz3Cw163cz"
    "9of7wEDjYQZWMc4du7zpfWoM0aWeiJDbtRiV0o8L2Oseoju2OjOUxeJmHKCIt0j/TE/+MQ"
    "dyj2gnofG0vvw7NpFXVu2veD1s1taCl9ZOzmd5qhZeRfPYqyadUJ+L0z+BXwn+Bf/V5bwE"
    "uoPbXEE9ftBv9q8DGpjk0UTBaKqge+kf5VH7UQ1x1T35HrYUrJ9apw3ccowHZv9IG1Tp5W"
    "cnpGeTlIsl1qTmCvNxsrw91C5OY1pEHVJyOkQZKdIK3ciikAU67dPTwmqiICrzi+n4gF0R"
    "T/BpcxSSKCqqc8Dyk8RDn5hz9//KvrRWWpi5U+HJpW7OXZK0PbFbha99etj+1GfCsoANTO"
    "XJ1m2eUrtg1kBTW4/YVAZQMAvWG369olJqr2uFAtXUmZwhCz4UAax/vKI/z02x001BSNI2"
    "j8yYr3ocxiAR9pkgBsIUDjt+bNefSKihkouvds/qQ4YmnGtBWeWyxqCuINs9nVGn0MgWgP"
    "EAaE/RBdHAPVBuMx+6Yj3nA8BkdvwAOyqP0BTFWTslYGWUD91UlUMyikwwSb3r/9dxPzWz"
    "yA//2fTba+IIX/5EyWPg9BhVi6u/NIO18F7HwrFmaHNkhSnvzyptIArwFl0vhOelWQTmpV"
    "VdGqsujSwR0x4xIKbaJSBYivotW3KMeOHyCRmG5Xq1Tfl/hMDWDlkzwweLOqAMG1ul2vQr"
    "48WZJedaioBldrMqrpetVeVQYTDcgjxI0khcG/t1ldMBETslmzjMpCC5jQogSrBhBk4IFY"
    "wG1BPzBh31gCZFNw/2vrdfP8AiAKqM1mkx7XEp7V03aXvxTMyxTMxb8xWNOdw377GvqGTz"
    "P5hk83+IZP475hsUKUmUpneVAOU9UuyOHibQagL96m4sxvhWE2LfiAvueBeE1Rx6nczDKT"
    "m+kTuSn9t1LnZF8aldqKQ3fie5S2AM5X07pfdUYnuGzjnIbfTcS624HPYUrJ5Spz2YJPTL"
    "LYZTWHKSWXq8xltunmjBUIUEib1nablkNlpMB220tgUlXJ9PLZgdQemgZRw+aFhNvHmwww"
    "U95QcUTLrDYYDNz2YIHYhHBsoGKgahpxsH0MJktgz1YOWBvM1UdIL4UtxQUPGAg//rKyrC"
    "RYZortf4RHeLCimECD4CkFNhHdsP0KWk9QB+Px/wkoxmPAOf4BLGYEPkELzAhjh2jrdj/C"
    "vH9wRGdkwd3LGkMIYdGAuh5d9mwV0wW0XrHBLYHJXoCN02vDsKUzaUOqoA3JNbI6ThK4w2"
    "Hn4yZHik8VQZlfPuG0B2fp2ICk0LrPXMkg+M0X7xlNKeArJrfdKEImDUdbDUeagSC2FWTm"
    "gTlEVIO8jb2DLI1HP4nxKCY0v4yMlxqMlyEOL0cEXjqXE6PgTEIMX8tS2VLbGAC3W7KrH/"
    "yWMdmVL9LAMwMD5PF5mR4VoMn2EPcbleNlAgTpD5ESX5kSX15ZT0p5iVKezH7ee96h2Ghz"
    "wOu3r6FTsHl+niX3+fw8PfeZ34skJlloirBqsD7Zg3IGEyQS106e3gvuFP2RAPUVmqZ+23"
    "yKOhl4/9Jsnp29a745u3h//vbdu/P3b1ZfuvitTZ+8q85n/tUL4R8PF6UztXl+kW+39ilq"
    "uKEUryjOUb4NxG8vwc0A7gLpSd/C1A1j1V5mX0Q3ghlE01mCMSMVyzWBBDO2q9pelYr4qt"
    "9ewGNFXGbtDotoXGVlGOWDuHF7179u3993ep95eQ6/lxG+a7c+/vMScFvQcoQ/tTpdXtPj"
    "QWVikR718ryMHC1LrRxMqZU10IqtWlOYsE/l5Vigo50YV06wxwHzjJs9oa445g428iitDM"
    "6pcnBO2JqZh89hSsnlQ+DyJOVzuZnDk7I/kYfqWDQda8qev8NiClPKxVTlxSTdx+kLrF7u"
    "43BKj9CPduJ7lFau7yqvb1ncrHijSsAtnxHSYHSCRFSWi3uJcnF8DhaA6b3NNrIpvPV6qy"
    "m0gQUbQvaObch3netBtppxovRcESXjDvYbGi8WFy+7IyvrZQJLI+azURIAXRNzWVeQnlQL"
    "qZzg+TB9cbuqK1JztjcpyIbzZ2J1w/rpsG5qtEXtPXpWrMC0CFp/eW6JolXW+0G2apas/R"
    "KQB5625CYdEbcOJf/UuZlKfsgQa6LzwpPior+iRKVKewaRBXgcF02ucFn0Q3iaVAtYZMHr"
    "4ojejwEmtvjFA5sArwsCbtyHUU79wIAgFmgC1YL8SAp2k5FTQTbCpycXYIIMg+Hy6gSsEr"
    "B+YeNaYFGIkxjjMa+rw9OiTIvdtZbiuawJv5lehzNUvMwTHzZGIa/cqzlDkD3OK4L+WYHI"
    "7gjyPFMQrwYu44UrEC98eC5+iPVd/Pvt3kfXue/Sj/CX9l3nU4e7IJmYjdjr6yPc7d8PLo"
    "FBqM09/zf9L4LEguxz5z/zxR2S/mh3ML5FSKXtrcq2t8nSThTYNwSSrkhqE8pUchip9Gek"
    "M6S+/gxZa1ZauauJ6AYrt6wzm80Wu73OrDRzv4CZe+9WEt8Al2YoCRjottlKgmbBojOPg9"
    "PzkfFbTD5izV1tPmdmcv4s4dW7ZcgWlop5mYr5ajJkjFDz29cw4eYsS83Us/SaqWexmqne"
    "CssB75qihgC/z4Dv+1R438vMXplhWr5gLTNM6xQvfAApkJUXJg4sC/KA8JQWImkhqiai0k"
    "KUCq+0EL04tJW1EOEnJEYStw25d443WoVEm8ynO1E2MV47pqjhy6NbXHLAOw4cyiQOlvkl"
    "4zFPz+3Srx8s6L1wFb9Pkwfe8CrFYDz+u9vx//xVdPW38fgEdGzRkgLHHOHxmIuFDoV0PP"
    "bLGVMwgUxbhox8fQDBePyB/fYasgeKllBnnfDixwTDEWaTSRfHiqoGGN5yv9AxoATYC+IP"
    "jQIGNcNAHGvFh8wPsuCljYGmYh7XMyFs1FNojzCywZGJvkPjgXxXGCdP/MGdeMxLPRI3Yl"
    "+TRq8yjV7yTKZykjPlmUz7PZOJbUb5zm4jpcdRlWMo2MvJbf43J8cGHCSRukOCNpYTz/Kx"
    "PJSaSRU6rqlqc/ZAQoYyRefJSLH0FVXfSDF5StfPtLYny3z2yRjdTl/HijF2z0bKNWYFGN"
    "UyZmxXDOGsxrTY9AqZ1NgoQG/Y7b6USY1n8jUSDGri+vEmcxrPJcxoTLsReRiAH2K19FPE"
    "HlYpYvwALJWpUjNogSMLTlSDTRfW/hjoHFf216u4Ma2YLqUhqVqGpMNLa2ITC++S19Rt9X"
    "puYpPXwwjfDb1LluNduW0N73mmk6nyY39H+LrVu253RSlTjUNgGPzqR/Y9vQS6sMZWsdKp"
    "5liUJFT2SP8grwiknhpzv/LpAnO5X9cUEs4onHzV5MDSby6BjAK53nAyQrkmkGDGgtYekW"
    "nmQjNAIeGMwinyKxUuryZAujUxc01YG2RLjsGcqLY2U5LDX9OxDxGVB33zzaFMawt+48cE"
    "5y6KG6WrnfdqD55XV4bapXBmiFIaEKtsQISWlaSnDOD3lD1qRVCDJbSJke2vgxAP/aVydN"
    "P6+irEx26/99lvHlha193+lczZl54YbqOxduN6mFJupFXeSB8QRnS2E5sjpJLPVeYzJY6l"
    "5UywCNHImJ4Eud49GigfqiEaiep2B6Y7DQtwXv4cGQGhVZuSExCfwxLejPCGlu8zak+XW9"
    "r1UNDea23XFV4pTnQfy82O9HVR3iypKSa0Xrs+b6GBAvbfN0e1VGwjzK5h23LrsQLeNTii"
    "jiYO76CiPKrIM/ESORIc64X3nlg/xX1nt+SJn8cVrZEiXe/S9V7oaYZh5/gI3//Wub3lFz"
    "zvyQj/77B11+oNOj1+dT3pK+JIl/apEu1Tqs12ZDOpqHzqVhMkqY2vqDC1Rhr80qGur8Hv"
    "JUowVMziU/RCCshOWdOo1hTSNrDdNjD3Yl+fqbr6IbQHBm5WnTUwqbaXXyi7qEXFtoBn17"
    "R46TDxe2jb7gvGlFz/1vEmHZe6jbJquBgQk7OXqZ6PmEw+uHUR2FQQB4h47AEGYvonwiBU"
    "MYC3TzinpJgunxEv/ghzBWl4zWVWfEQr8mMz0hXZJ9VwEraaf9z3e8lQrwiikiXSbPBfwM"
    "+5P9xtPAlmDsVmfSmqGkXkQt5BVF9yTH1H8T5MKcX7qoj3CS7A2IFiPu/yRaCFqWpgnNjH"
    "HhcTUF/oy+86YHrsV+LXP3B7swTgNmQTSc9Rg8klAjM2a8HReEzfnI7HYOQ03zQvXvGiRh"
    "RoFtQhtpFqrAslAZUCdVU/iZukE6sxFdq5TCWrlj2bz7NELXlTORc9RU0+fLmr+GLcOqaK"
    "+DsHwkGa2m37eykavd6BctfXSiCtsnumMsHe/Phmz0WeFeoASe2mdfE7xx+JSXfp6P6RnH"
    "UnoY1Dy0srKhRCvIMeFqWVsZfVUbwSHCtUYcIzSrJUXxFiQBWnyI9BugiLJ3uMsvJFn3LZ"
    "etXvd0McvepEfb/Dm6v23dGpYCVr5BaYlf7LXLvaYRo40vyX1dK8RehjuubtR0Zu17x5YZ"
    "SMmvfvTIOF/vna3CZ+yVReHVmQH7O99M/35vrSsVtzmBvTTWdiIE2Y0x3TIKoOhnfdBFN8"
    "0Z1LzbtimndOpbBYhbBCOvdeqqgKeBLR3R6m59OWKEgbRFONnNJ0o9u/bnX5gd6MdoR7n+"
    "4Z3g90hO/PLgE9i24oWVhR8FFZNoIJgXgZmeDRlsiEGbHzsuDX/uASMLoR/r11d3MJ2Ods"
    "PsLX/S6vPUSMnSIiiz6vzELEQnaC5yG9Fk6ApLxImNODKSkwUSmTE3KeAxciqqGF6TzTNn"
    "6+YRs/j2/jrjyjCOwcK+Fokg1F3eOktbOM7AVzTcc7AR6lk2hnQdsV0xXVRHnxjlNKxLMg"
    "XgWXVxzjmPx9sMZVC05z+gXWFLWbwcXDu8h7+uHiBU4/PBxZTlNNVWOyriKqmCVYiTcUPo"
    "vT1iafpeTaZ7xw6y4cCNNJ9HdD34IUWk9wFwbESMvcY96dvXt7+r75tlbMkB6rkj1WDDhP"
    "lE4rx7AN9xi5hD87/DOoGvZM4bnRTsLmky41xghLFB4d/IjJApcjQxafIs09b46pTBztMW"
    "m+bzJiRQhrJ7DvJTzNgy3/yYQxQol3FrwtaBpIEyVclAeVO0xz6EvJxDLFVsZ6/LyxHjKF"
    "qc5cT0thyhHhE8lhfmZ1raz5y1Xjf2pprdCuSUxUCEDXxFzWFaQn1UIqTqorkxumL25XdU"
    "VKHDCmECdJb81Z0K7eEKEEn4REKOSFpJDyBI1nrrqh6Oze7atOiO0zjDUMWkIgawzV9FDW"
    "BG5uD2bt80MBLTJHFPrBo+y1ZxDY5BHiXygYjynSx+MPYAI1MueFDDHouEcKYsCumAbkfc"
    "UjWQvteXsY65+NNeTBY6d5M/bT8lHxKFOWgBI+sNqf4g3RCYNS/PiRK2R2OOx8zBEz6zhI"
    "P+E0uyyh7fGdjb8+OFjjuALxJP6/t3/bl9K/QRJ2XaCuaBsUWsWrb46hFRMopy8/SFO7WN"
    "ri0/zcWjt8cuSa0CGqcif2y2RGbZ3Fwbr/jF85o7+DNNIGmCklmGAbYltJjwRPMU1F6GqH"
    "9mkzS4Qxa5XuUGjGoox1qBmqBfWU88s2uZBjpNKNv5vnmHM5P/xBqjqVPSwZ/CdE0QQZiY"
    "H22TIewj2UeTqziJTOufk0bodX3c71pZdyNsLDXrdzP+AVoR3Mi4HxQtG3d50vrUGbNbLQ"
    "k1f7+uW9n2HJPo8BO0xZQwP24Rqs436KQyvV3iAmzBtR0OjftnuXvGYjZitQnILunoHe/n"
    "rbueM/3SlbkdLsmoG4aIXMXAJZkKh20ljxGpt3cGlOtThMJWHeCrN0fqdDf5hu0EzOb7qb"
    "55vKs/pemr2ZhAZe/SFf1fgARZ3Up8KChNjUt/IhGqCQiG6vw8/hiqObu2b80OvmwMBNc9"
    "YdR2rGBybV9jr8phew/UxIf45T+QIbYDKyL1MXSMznJD+qN883uE9Zi2xO03QsZbWdalXb"
    "4TzN63MJ0khP4VaFCM5VlCuBfUWwE7gVE4JL8GiZKqULwvbFvCVuY4Q1LD+yF8R5Tp0+Tw"
    "wc25aK55OVmAq2unKwuWAy97FkwL85hH0wd8j7jRDWKDumZL+h9xrK8/2HyT1JP+L+vBnS"
    "AvyTWIB3SoRRjYnz3GPmW7yPA+R/pqBzXrlKRGM+FyQTDXg3dcVJZlRtAwg/oWQJJg9Cop"
    "PDE1tkfsdeECsIKgqtGgK1b7vtpjSYMKKbrbg7pMBMLLJglMAgU4TdNBWNkEfE/lEtC/Hk"
    "FGCpWCdz8AiXx6wBooDRiCPORA1278yz5DyY4rof4RFu+cSs0YJY9gxQMoeMBk9dgsUMGV"
    "CQ8T6QW0j+mLUSTxalmyz2ZNYVxDp7tIcXmMAHYsHg8LzQN3DERk4c+xj4RiWgzVQ8ZZ2q"
    "GAirxwjriDIu8EHwDlRNIw62X52ANpvGOh8JPyROXTIB30YGb7P0uncBYbIYT9KBdITJA7"
    "CgBrENqKNp7OKDY7jYsS5M1R0isgBZsIUliE1ovfae6DZkrzxH9i65QwGXkTekrTlEwTmn"
    "iF8+5XExOUTSEfBMRwBbVbntp0Ea6QjY6ggITPmsCAdIamiblsFn0vRQRPDZYQWuVyQxr0"
    "pMzhSCBrmUtAuPA3QyyLDKHJYhcTIkrgKBW1tD4l4mcKsFLaTNGgm6v3fneJPar67byOit"
    "Q1rOxxuUtkM5a/iwo134osqBsNe8huju5UQ6r65AHOF/3Pd7KbramiQq0CHNBv8F3D9+gG"
    "hvAJeDERLjfEyPblpfo3Bfd/tXUfmMd3CVJB2U+TH78f+tJ9gK"
)

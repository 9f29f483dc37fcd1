"""Storage pools: the table with health badges, create/edit forms, (de)activation, detail view."""

from __future__ import annotations

from quart import current_app, redirect, request
from tortoise.functions import Count, Sum

from pixelfox_protocol.keys import HEALTH_HISTORY_LENGTH

from ...models import Image, ImageVariant, StoragePool
from ...nodes import node_of
from ...pool_health import pools_health
from ...pools import PoolError, check_node, create_pool, edit_pool
from ..access import page_admin_required
from ..headers import forget_origins
from ..render import error_page, page
from .base import blueprint, keys, redis
from .history import SAMPLE_SECONDS, read_history
from .pool_form import PoolForm, parse

TOGGLES = ("is_active", "is_upload_target")


async def _rows() -> list[dict[str, object]]:
    pools = await StoragePool.all().order_by("name")
    health = await pools_health(redis(), keys(), pools)
    return [{"pool": p, "node_id": node_of(p), "health": health[p.id]} for p in pools]


@blueprint.get("/pools")
@page_admin_required
async def pools_index():
    """Every pool with node, URLs, usage and health; the table refreshes itself."""
    return await page("admin/pools/index.html", "admin/pools/_table.html", rows=await _rows())


async def _form_page(form: PoolForm, pool: StoragePool | None, status: int = 200):
    body = await page("admin/pools/form.html", "admin/pools/_form.html", form=form, pool=pool)
    return body, status


@blueprint.get("/pools/new")
@page_admin_required
async def pool_new():
    """An empty pool form."""
    return await _form_page(PoolForm.from_pool(None), None)


@blueprint.post("/pools/new")
@page_admin_required
async def pool_create():
    """Create a pool from the form, or show the form again with what is wrong."""
    form = await _parsed(None)
    if not form.ok:
        return await _form_page(form, None, 422)
    try:
        pool = await create_pool(**form.values)
    except PoolError as exc:
        form.errors["form"] = str(exc)
        return await _form_page(form, None, 422)
    forget_origins(current_app)
    return redirect(f"/admin/pools/{pool.id}")


async def _parsed(pool: StoragePool | None) -> PoolForm:
    """The form's fields, with the checks that need the database added."""
    form = parse(dict(await request.form))
    if "node_id" not in form.errors:
        try:
            await check_node(form.values.get("node_id", ""))
        except PoolError as exc:
            form.errors["node_id"] = str(exc)
    if "name" not in form.errors:
        others = StoragePool.filter(name=form.values["name"])
        if pool is not None:
            others = others.exclude(id=pool.id)
        if await others.exists():
            form.errors["name"] = "A pool with this name exists already."
    return form


async def _pool_or_404(pool_id: int) -> StoragePool | None:
    return await StoragePool.get_or_none(id=pool_id)


@blueprint.get("/pools/<int:pool_id>/edit")
@page_admin_required
async def pool_edit(pool_id: int):
    """The form of an existing pool."""
    pool = await _pool_or_404(pool_id)
    if pool is None:
        return await error_page(404, "Not found", "There is no such pool.")
    return await _form_page(PoolForm.from_pool(pool), pool)


@blueprint.post("/pools/<int:pool_id>/edit")
@page_admin_required
async def pool_update(pool_id: int):
    """Save an edited pool."""
    pool = await _pool_or_404(pool_id)
    if pool is None:
        return await error_page(404, "Not found", "There is no such pool.")
    form = await _parsed(pool)
    if not form.ok:
        return await _form_page(form, pool, 422)
    try:
        await edit_pool(pool.name, **form.values)
    except PoolError as exc:
        form.errors["form"] = str(exc)
        return await _form_page(form, pool, 422)
    forget_origins(current_app)
    return redirect(f"/admin/pools/{pool.id}")


@blueprint.post("/pools/<int:pool_id>/toggle/<string:flag>")
@page_admin_required
async def pool_toggle(pool_id: int, flag: str):
    """Switch a pool on or off (``is_active``), or in or out of placement (``is_upload_target``)."""
    pool = await _pool_or_404(pool_id)
    if pool is None or flag not in TOGGLES:
        return await error_page(404, "Not found", "There is no such pool or switch.")
    await StoragePool.filter(id=pool.id).update(**{flag: not getattr(pool, flag)})
    if (await request.form).get("from") == "table":
        pool = await StoragePool.get(id=pool.id)
        health = (await pools_health(redis(), keys(), [pool]))[pool.id]
        row = {"pool": pool, "node_id": node_of(pool), "health": health}
        return await page("admin/pools/_row.html", row=row)
    return redirect(f"/admin/pools/{pool.id}")


@blueprint.get("/pools/<int:pool_id>")
@page_admin_required
async def pool_detail(pool_id: int):
    """One pool: images, bytes, health now and over the last hour."""
    pool = await _pool_or_404(pool_id)
    if pool is None:
        return await error_page(404, "Not found", "There is no such pool.")
    images = (
        await Image.filter(pool_id=pool.id)
        .annotate(n=Count("id"), total=Sum("size"))
        .first()
        .values("n", "total")
    )
    variants = (
        await ImageVariant.filter(pool_id=pool.id)
        .annotate(n=Count("id"), total=Sum("size"))
        .first()
        .values("n", "total")
    )
    health = (await pools_health(redis(), keys(), [pool]))[pool.id]
    history = await read_history(redis(), keys(), pool.id)
    return await page(
        "admin/pools/detail.html",
        "admin/pools/_health.html",
        pool=pool,
        node_id=node_of(pool),
        health=health,
        history=history,
        sample_seconds=SAMPLE_SECONDS,
        slots=HEALTH_HISTORY_LENGTH,
        image_count=(images or {}).get("n") or 0,
        image_bytes=(images or {}).get("total") or 0,
        variant_count=(variants or {}).get("n") or 0,
        variant_bytes=(variants or {}).get("total") or 0,
    )

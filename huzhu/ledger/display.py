"""Account names as people read them: a product named by its name, never by its code."""

from __future__ import annotations

import re
from functools import lru_cache

from django.db.models.signals import post_delete, post_save

_PRODUCT_CODE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-\d{4}(?:-[a-z0-9]+)+")


@lru_cache(maxsize=512)
def product_name(code: str) -> str:
    from huzhu.products.models import ProductVersion

    version = ProductVersion.objects.filter(code=code).order_by("-version").only("name").first()
    return version.name if version else code


def names_products(text: str) -> str:
    """``互助金收入—用人单位—chongqing-2015-medical—2026`` → ``…—重庆市职工住院医疗互助—2026``."""
    return _PRODUCT_CODE.sub(lambda m: product_name(m.group(0)), text)


def _forget(**_kwargs: object) -> None:
    product_name.cache_clear()


def connect() -> None:
    from huzhu.products.models import ProductVersion

    post_save.connect(_forget, sender=ProductVersion, dispatch_uid="ledger-display-names")
    post_delete.connect(_forget, sender=ProductVersion, dispatch_uid="ledger-display-names-del")

"""The JSON API root; each app adds its router (see huzhu/<app>/api.py)."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="互助保障管理平台 API",
    version="1",
    description="组织、参保单位、会员。使用 `Authorization: Bearer <令牌>` 认证；数据范围与页面一致。",
    docs_url="/docs",
    urls_namespace="api",
)

from huzhu.enrollment.api import router as enrollment_router  # noqa: E402

api.add_router("/enrollment", enrollment_router)

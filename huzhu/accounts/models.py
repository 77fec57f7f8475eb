"""Users, their role and place in the union tree, and API tokens for integration clients."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django_otp.models import Device

from huzhu.members.models import Member
from huzhu.organisations.models import Organisation, Unit

from .roles import Perm, Role, role_has


class User(AbstractUser):
    """A person who logs in. Staff belong to an organisation and see its subtree; an agent
    belongs to a unit; a member user is tied to one member."""

    role = models.CharField("角色", max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation, verbose_name="所属组织", null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    unit = models.ForeignKey(
        Unit, verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    member = models.OneToOneField(
        Member, verbose_name="会员", null=True, blank=True, on_delete=models.PROTECT,
        related_name="user",
    )
    display_name = models.CharField("姓名", max_length=60, blank=True)
    failed_logins = models.PositiveIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When the password was last set (HUZHU_PASSWORD_MAX_AGE_DAYS, docs/adr/0010).
    password_changed_at = models.DateTimeField("密码修改时间", default=timezone.now,
                                               editable=False)

    # Set on the user an API token acts as (huzhu/accounts/tokens.py), never stored.
    api_token: ApiToken | None = None
    token_narrowed: bool = False
    # Set by the login when the password used was a first password (hashers.py).
    first_password: bool = False

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.CheckConstraint(
                name="user_scope_matches_role",
                condition=(
                    models.Q(role__in=["agent"], unit__isnull=False)
                    | models.Q(role__in=["member"], member__isnull=False)
                    | ~models.Q(role__in=["agent", "member"])
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    def can(self, perm: Perm) -> bool:
        return self.is_active and role_has(self.role, perm)

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A password set with ``save(update_fields=["password"])`` keeps its date with it.
        fields = kwargs.get("update_fields")
        if fields is not None and "password" in fields and "password_changed_at" not in fields:
            kwargs["update_fields"] = [*fields, "password_changed_at"]
        super().save(*args, **kwargs)


class RecoveryDevice(Device):
    """The ten single-use recovery codes of a user's second factor, as one django-otp device.

    django-otp's own static device keeps its codes in plain text; here only the SHA-256 of each
    code is stored (the codes are random, 60 bits each, so a plain digest is enough, as for API
    tokens), and a code is deleted when it is used (docs/adr/0010)."""

    class Meta:
        verbose_name = "恢复码"
        verbose_name_plural = "恢复码"

    def verify_token(self, token: Any) -> bool:
        from .second_factor import recovery_digest

        digest = recovery_digest(str(token))
        used, _ = RecoveryCode.objects.filter(device=self, digest=digest).delete()
        return used > 0


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"],
                                               name="recovery_code_once")]


class ApiToken(models.Model):
    """A bearer token for an integration client (docs/adr/0011): it acts as its owner, only in
    the areas of its scope (read or write each), only inside its region (an organisation of the
    tree, never beyond the owner's own scope), until it expires or is revoked.
    Only the SHA-256 of the token is stored."""

    user = models.ForeignKey(User, verbose_name="所属用户", on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField("令牌前缀", max_length=8, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    # {area: "read" | "write"} (huzhu/accounts/tokens.py AREAS).
    scopes = models.JSONField("权限范围", default=dict)
    region = models.ForeignKey(Organisation, verbose_name="数据范围", null=True,
                               on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField("到期时间", null=True)
    created_by = models.ForeignKey(User, verbose_name="签发人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    revoked_by = models.ForeignKey(User, verbose_name="吊销人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class SignupCode(models.Model):
    """One request of a member's self sign-up (huzhu/accounts/signup.py): every request is kept,
    matched or not, so the rate limits count unknown ID numbers as they count real ones. Only
    blind indexes of the ID number and phone, and an HMAC of the code, are stored."""

    id_bidx = models.CharField(max_length=64, db_index=True)
    phone_bidx = models.CharField(max_length=64)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    code_digest = models.CharField(max_length=128, blank=True)  # salt $ HMAC-SHA256 hex
    ip = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "会员注册验证码"
        verbose_name_plural = "会员注册验证码"

"""The member portal's own records: the knowledge base the answering robot reads, the
messages to staff it could not answer (工单), and the SMS codes that confirm a new bank card."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from huzhu.members.models import Member
from huzhu.pii.fields import EncryptedTextField


class Topic(models.TextChoices):
    PRODUCTS = "products", "保障项目"
    ENROLL = "enroll", "参保缴费"
    CLAIM = "claim", "怎样理赔"
    PAPERS = "papers", "理赔材料"
    DEADLINES = "deadlines", "时限与进度"
    BANK = "bank", "银行卡与到账"
    ACCOUNT = "account", "账户与消息"


class KnowledgeEntry(models.Model):
    """One question and its answer. ``phrasings`` are other ways members ask the same thing,
    one a line; the robot searches the question, the phrasings and the answer."""

    slug = models.SlugField("编号", max_length=60, unique=True)
    topic = models.CharField("分类", max_length=12, choices=Topic.choices)
    question = models.CharField("问题", max_length=200)
    phrasings = models.TextField("其他问法（每行一个）", blank=True)
    answer = models.TextField("答案")
    active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["topic", "id"]
        verbose_name = "知识库条目"
        verbose_name_plural = "知识库"

    def __str__(self) -> str:
        return self.question


class TicketStatus(models.TextChoices):
    OPEN = "open", "待回复"
    ANSWERED = "answered", "已回复"


class Ticket(models.Model):
    """A member's question the robot could not answer, for staff of the member's union."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    # What a member writes may name an illness: sealed like every other personal field.
    question = EncryptedTextField("问题")
    best_score = models.FloatField(default=0)
    status = models.CharField(max_length=10, choices=TicketStatus.choices,
                              default=TicketStatus.OPEN)
    reply = models.TextField("回复", blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "工单"
        verbose_name_plural = "工单"
        indexes = [models.Index(fields=["org_path", "status", "id"], name="ticket_scope_idx")]

    def __str__(self) -> str:
        return f"工单 {self.pk}"


class CardChange(models.Model):
    """A new bank card waiting for the SMS code sent to the member's phone. The code is kept
    only as a salted hash; it is good for :data:`huzhu.portal.card.CODE_TTL` once."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    bank_card = EncryptedTextField("新银行卡号")
    bank_name = models.CharField("开户行", max_length=100, blank=True)
    bank_cnaps = models.CharField("开户行联行号", max_length=12, blank=True, default="")
    code_hash = models.CharField(max_length=128)  # salt $ HMAC hex
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "银行卡变更验证"
        verbose_name_plural = "银行卡变更验证"
        indexes = [models.Index(fields=["member", "created_at"], name="cardchange_member_idx")]

    def __str__(self) -> str:
        return f"银行卡变更 {self.pk}"

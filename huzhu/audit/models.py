"""The event log: append-only, hash-chained rows of everything that happens.

Each row's hash covers its own content and the previous row's hash, so editing or deleting a
row breaks every later link; ``huzhu audit verify`` walks the chain. On PostgreSQL a trigger
refuses UPDATE and DELETE (migration 0002); SQLite refuses UPDATE the same way.
"""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    LOGIN_SUCCEEDED = "auth.login", "登录成功"
    LOGIN_FAILED = "auth.login_failed", "登录失败"
    LOGIN_LOCKED = "auth.locked", "账号锁定"
    LOGOUT = "auth.logout", "退出登录"
    OTP_ENROLLED = "auth.otp_enrolled", "启用双因素认证"
    OTP_VERIFIED = "auth.otp_verified", "双因素认证通过"
    OTP_FAILED = "auth.otp_failed", "双因素认证失败"
    OTP_RECOVERY_USED = "auth.otp_recovery_used", "使用恢复码登录"
    OTP_RESET = "auth.otp_reset", "重置双因素认证"
    PASSWORD_CHANGED = "auth.password_changed", "修改本人密码"
    ORG_CREATED = "org.created", "新建组织"
    ORG_UPDATED = "org.updated", "修改组织"
    ORG_MOVED = "org.moved", "移动组织"
    UNIT_CREATED = "unit.created", "新建单位"
    UNIT_UPDATED = "unit.updated", "修改单位"
    AGENT_CREATED = "agent.created", "新建经办人"
    AGENT_UPDATED = "agent.updated", "修改经办人"
    MEMBER_CREATED = "member.created", "新建会员"
    MEMBER_UPDATED = "member.updated", "修改会员"
    PII_REVEALED = "pii.revealed", "查看完整个人信息"
    MEMBER_ANONYMISED = "member.anonymised", "保存期满匿名化会员"
    BREACH_NOTICE = "privacy.breach_notice", "生成个人信息安全事件告知"
    FILES_PURGED = "files.purged", "按保存期限删除文件"
    KEYS_REENCRYPTED = "keys.reencrypted", "用新密钥重新加密个人信息"
    KEYS_ROTATED = "keys.rotated", "完成个人信息密钥轮换"
    KEYS_REINDEXED = "keys.reindexed", "用新检索密钥重新计算检索索引"
    KEYS_INDEX_ROTATED = "keys.index_rotated", "完成检索索引密钥轮换"
    BACKUP_MADE = "backup.made", "备份数据库"
    USER_CREATED = "user.created", "新建用户"
    USER_UPDATED = "user.updated", "修改用户"
    USER_ROLE_CHANGED = "user.role_changed", "变更用户角色"
    USER_PERMISSIONS_CHANGED = "user.permissions_changed", "变更用户权限组"
    USER_DELETED = "user.deleted", "删除用户"
    USER_UNLOCKED = "user.unlocked", "解锁用户账号"
    USER_PASSWORD_RESET = "user.password_reset", "重置用户密码"
    AGENTS_BULK_CREATED = "user.agents_bulk", "批量开通经办人账号"
    SIGNUP_CODE_SENT = "signup.code_sent", "会员注册：发送验证码"
    SIGNUP_FAILED = "signup.failed", "会员注册：验证未通过"
    ENROLL_REMINDED = "enrollment.reminded", "短信提醒未参保单位"
    TOKEN_CREATED = "token.created", "新建接口令牌"
    TOKEN_REVOKED = "token.revoked", "吊销接口令牌"
    TOKEN_REFUSED = "token.refused", "接口令牌被拒绝"
    SETTING_CREATED = "config.created", "新建业务设置"
    SETTING_CHANGED = "config.changed", "修改业务设置"
    SETTING_DELETED = "config.deleted", "删除业务设置"
    CARE_OPENED = "care.opened", "开启重病关怀"
    CARE_TOUCHED = "care.touched", "办理关怀事项"
    EXPORT = "data.exported", "导出数据"
    ROSTER_COMMITTED = "roster.committed", "提交花名册"
    ROSTER_PI_APPROVED = "roster.pi_approved", "复核同意花名册批量修改会员信息"
    PI_EXPORT_REQUESTED = "pi_export.requested", "申请导出完整个人信息（待复核）"
    PI_EXPORT_APPROVED = "pi_export.approved", "复核同意导出完整个人信息"
    ENROLLMENT_CREATED = "enrollment.created", "登记参保"
    ENROLLMENT_REFUNDED = "enrollment.refunded", "参保退费"
    ENROLLMENT_CONFIRMED = "enrollment.confirmed", "参保生效"
    PAYMENT_RECORDED = "payment.recorded", "登记缴费"
    SETTLEMENT_RECEIVED = "settlement.received", "接收结算数据"
    SETTLEMENT_IMPORTED = "settlement.imported", "导入结算数据文件"
    SETTLEMENT_MATCHED = "settlement.matched", "结算数据匹配会员"
    CLAIM_FILED = "claim.filed", "提交理赔申请"
    CLAIM_REASSESSED = "claim.reassessed", "重新核算理赔"
    CLAIM_KEYED = "claim.keyed", "经办录入住院结算单"
    CLAIM_KEYED_CHECKED = "claim.keyed_checked", "复核录入一致，受理理赔"
    CLAIM_KEYED_MISMATCH = "claim.keyed_mismatch", "复核录入不一致，暂停"
    CLAIM_KEYED_CONFIRMED = "claim.keyed_confirmed", "医保结算记录与经办录入一致"
    CLAIM_KEYED_CONTRADICTED = "claim.keyed_contradicted", "医保结算记录与经办录入不一致"
    SCENARIO_SAVED = "simulator.scenario_saved", "保存政策模拟方案"
    SCENARIO_HANDED = "simulator.scenario_handed", "政策模拟方案转为产品版本草稿"
    PRODUCT_DRAFT_SAVED = "product.draft_saved", "保存产品版本草稿"
    PRODUCT_DRAFT_PROPOSED = "product.draft_proposed", "提请审批产品版本"
    PRODUCT_DRAFT_REJECTED = "product.draft_rejected", "退回产品版本草稿"
    PRODUCT_VERSION_APPROVED = "product.version_approved", "审批通过并启用产品版本"
    CLAIM_TRANSITION = "claim.transition", "理赔状态变更"
    CLAIM_LEVEL = "claim.level", "理赔进入审核级次"
    CALENDAR_YEAR = "calendar.year", "录入节假日安排"
    CLAIM_REVIEWED = "claim.reviewed", "审核理赔"
    CLAIM_PAYEE_CHANGED = "claim.payee_changed", "更正受益人银行卡"
    CLAIM_DOCUMENT = "claim.document", "上传理赔材料"
    CLAIM_DOCUMENT_VIEWED = "claim.document_viewed", "查看理赔材料"
    CLAIM_CORRECTION_DECIDED = "claim.correction_decided", "决定规则更正后的补发或追回"
    CLAIM_RECOVERY_RECEIVED = "claim.recovery_received", "收到追回款"
    CLAIM_RECOVERY_WRITE_OFF_PROPOSED = "claim.recovery_write_off_proposed", "提请核销追回款"
    CLAIM_RECOVERY_WRITTEN_OFF = "claim.recovery_written_off", "核销追回款"
    PAYOUT_TRANSITION = "payout.transition", "支付状态变更"
    PAYOUT_BATCH_BUILT = "payout.batch_built", "生成代付批次"
    PAYOUT_BATCH_APPROVED = "payout.batch_approved", "复核代付批次"
    PAYOUT_BATCH_CANCELLED = "payout.batch_cancelled", "作废代付批次"
    PAYOUT_BATCH_SENT = "payout.batch_sent", "发送代付批次"
    PAYOUT_BATCH_REFUSED = "payout.batch_refused", "银行拒收代付批次"
    PAYOUT_BATCH_ABANDONED = "payout.batch_abandoned", "放弃代付批次"
    PAYOUT_BATCH_EXPORTED = "payout.batch_exported", "下载代付文件"
    PAYOUT_RESULT_IMPORTED = "payout.result_imported", "导入银行回盘"
    PAYOUT_REQUEUED = "payout.requeued", "重新支付"
    PAYOUT_EXCEPTION_RESOLVED = "payout.exception_resolved", "处理对账异常"
    PAYOUT_DAY_CLOSED = "payout.day_closed", "代付日结"
    DISCLOSURE_PROPOSED = "disclosure.proposed", "提请发布基金公示"
    DISCLOSURE_PUBLISHED = "disclosure.published", "复核发布基金公示"
    DISCLOSURE_WITHDRAWN = "disclosure.withdrawn", "撤回基金公示"
    PAYOUT_REGION_SETTING_CHANGED = "payout.region_setting_changed", "修改代付设置"
    PAYOUT_LINE_BANK_SET = "payout.line_bank_set", "选择收款开户行"
    PAYOUT_BANKS_LOADED = "payout.banks_loaded", "更新银行名录"
    CARD_CODE_SENT = "portal.card_code_sent", "发送银行卡变更验证码"
    CARD_CODE_FAILED = "portal.card_code_failed", "银行卡变更验证码错误"
    KB_SAVED = "portal.kb_saved", "修改知识库条目"
    TICKET_OPENED = "portal.ticket_opened", "会员提问转人工"
    TICKET_REPLIED = "portal.ticket_replied", "回复会员工单"
    CONSOLATION_PROPOSED = "consolation.proposed", "提出慰问金"
    CONSOLATION_DECIDED = "consolation.decided", "审批慰问金"
    RISK_SHARING_PROPOSED = "ledger.risk_sharing_proposed", "提请风险共担结算"
    RISK_SHARING_CONFIRMED = "ledger.risk_sharing_confirmed", "确认风险共担结算"


class Event(models.Model):
    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    org_path = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=20, default="ok")
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "created_at"]),
            # A client address's recent failed logins (accounts/services.py).
            models.Index(fields=["ip", "action", "created_at"], name="audit_event_ip_action"),
        ]
        verbose_name = "事件"
        verbose_name_plural = "事件日志"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class ChainHead(models.Model):
    """One row per chain; locking it serialises appends so the chain never forks."""

    name = models.CharField(max_length=20, unique=True, default="events")
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

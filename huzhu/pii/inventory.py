"""The minimum-necessary list of personal information the platform stores (TRUST S-16).

Every model field that holds personal information is listed here with why it is kept and how it
is protected. ``tests/foundation/test_pi_inventory.py`` fails when a model gains a field that looks
personal (by its type or its name) and is in neither this list nor :data:`NOT_PERSONAL`, so a new
personal field cannot arrive without someone deciding it is necessary.

Protection: ``encrypted`` — AES-256-GCM at rest (huzhu/pii/crypto.py), masked on screen for
roles that see masks; ``blind-index`` — a keyed HMAC for exact lookups, no plaintext;
``plain`` — stored as text, with the reason in the purpose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonalField:
    category: str
    protection: str
    purpose: str


def _enc(category: str, purpose: str) -> PersonalField:
    return PersonalField(category, "encrypted", purpose)


def _bidx(purpose: str) -> PersonalField:
    return PersonalField("检索索引", "blind-index", purpose)


def _plain(category: str, purpose: str) -> PersonalField:
    return PersonalField(category, "plain", purpose)


PI_INVENTORY: dict[str, PersonalField] = {
    # The member: who is covered and where benefits are paid.
    "members.Member.name": _plain("姓名", "核对身份、通知、代发收款户名；列表按姓名查找，故不加密，"
                                          "对无权角色脱敏显示"),
    "members.Member.id_number": _enc("身份证件号码", "唯一识别参保职工，与医保结算记录匹配"),
    "members.Member.id_number_bidx": _bidx("按身份证号精确查找与去重"),
    "members.Member.birth_date": _plain("出生日期", "由身份证号导出，判断参保年龄条件"),
    "members.Member.gender": _plain("性别", "由身份证号导出，女职工特疾等产品的参保条件"),
    "members.Member.phone": _enc("手机号码", "参保、补助短信通知"),
    "members.Member.phone_bidx": _bidx("按手机号查找"),
    "members.Member.bank_card": _enc("银行账号", "互助金代发"),
    "members.Member.bank_name": _plain("开户行", "代发所需，不单独识别个人"),
    # The unit's agent (经办人): who the union contacts.
    "organisations.Agent.name": _plain("姓名", "参保单位联系人"),
    "organisations.Agent.phone": _enc("手机号码", "联系与提醒单位经办人"),
    "organisations.Agent.phone_bidx": _bidx("按手机号查找经办人"),
    # A member's self sign-up requests (huzhu/accounts/signup.py): blind indexes only.
    "accounts.SignupCode.id_bidx": _bidx("会员自助注册：按身份证号限制请求频次、核对验证码"),
    "accounts.SignupCode.phone_bidx": _bidx("会员自助注册：核对验证码与手机号"),
    "accounts.SignupCode.ip": _plain("IP 地址", "会员自助注册：按来源地址限制请求频次"),
    # Logins.
    "accounts.User.username": _plain("账号", "登录标识"),
    "accounts.User.first_name": _plain("姓名", "Django 自带字段，本平台不填写"),
    "accounts.User.last_name": _plain("姓名", "Django 自带字段，本平台不填写"),
    "accounts.User.email": _plain("电子邮箱", "Django 自带字段，本平台不填写"),
    "accounts.User.display_name": _plain("姓名", "页面和事件日志中显示操作人"),
    # A claim without a settlement (ADR 0016): the diagnosis, and the ill relative or the
    # beneficiary of a death benefit.
    # 重病关怀 (huzhu/care): what was said on the greeting call, which gift, how paid.
    "care.CareTask.note": _enc("健康医疗信息", "重病关怀事项的办理记录（通话要点、慰问品），可能涉及病情"),
    # The member portal (huzhu/portal): a question for staff, a new card awaiting its code.
    "portal.Ticket.question": _enc("咨询内容", "机器人无法回答的会员提问，由工作人员回复"),
    "portal.CardChange.bank_card": _enc("银行账号", "会员本人更换代发银行卡，待短信验证码确认"),
    "portal.CardChange.bank_name": _plain("开户行", "代发所需，不单独识别个人"),
    "claims.ClaimEvent.disease": _enc("健康医疗信息", "重疾、特疾产品按产品病种目录给付"),
    "claims.ClaimEvent.disease_name": _enc("健康医疗信息", "审核时核对诊断"),
    "claims.ClaimEvent.person_name": _plain("姓名", "患病家属或抚恤金受益人；代发收款户名；"
                                            "对无权角色脱敏显示"),
    "claims.ClaimEvent.person_id_number": _enc("身份证件号码", "核实患病家属或受益人的身份"),
    "claims.ClaimEvent.person_phone": _enc("手机号码", "抚恤金短信通知受益人"),
    "claims.ClaimEvent.payee_card": _enc("银行账号", "抚恤金代发到受益人银行卡"),
    # The bureau's settlement record (医保结算记录): what a benefit is computed from.
    "settlements.Settlement.raw": _enc("健康医疗信息", "收到的原始结算数据，留作核算依据"),
    "settlements.Settlement.psn_name": _plain("姓名", "与会员姓名核对；对无权角色脱敏显示"),
    "settlements.Settlement.certno": _enc("身份证件号码", "与会员匹配"),
    "settlements.Settlement.certno_bidx": _bidx("按证件号匹配会员"),
    "settlements.Settlement.gend": _plain("性别", "医保结算数据原样保存"),
    "settlements.Settlement.brdy": _plain("出生日期", "医保结算数据原样保存"),
    "settlements.Settlement.diag_code": _enc("健康医疗信息", "重疾、特疾产品按诊断给付"),
    "settlements.Settlement.diag_name": _enc("健康医疗信息", "审核时核对诊断"),
    # A stay keyed from the settlement slip (经办录入, ADR 0027): the diagnosis on the papers.
    "claims.KeyedStay.diag_name": _enc("健康医疗信息", "复核与审核时核对诊断"),
    "claims.KeyedStay.diag_code": _enc("健康医疗信息", "重疾、特疾产品按诊断给付"),
    # Payment: where the money went.
    "payouts.PayoutLine.account_no": _enc("银行账号", "代发明细，对账依据"),
    "payouts.PayoutLine.account_no_bidx": _bidx("按账号核对银行回盘"),
    "payouts.PayoutLine.account_name": _plain("姓名", "代发收款户名，银行文件必需"),
    "payouts.PayoutLine.bank_name": _plain("开户行", "代发所需"),
    # Messages.
    "notices.OutboxMessage.phone": _enc("手机号码", "待发送与已发送短信的收件号码"),
    # Premiums received: the payer is usually a unit, sometimes a person paying for themself.
    "enrollment.Payment.payer_name": _plain("姓名", "到账核对付款人，多为单位名称"),
    "enrollment.BankStatement.lines": _enc("姓名、银行账号", "对账单收入记录：付款户名与账号，用于匹配缴费"),
}

# Fields whose names look personal but hold no personal information.
NOT_PERSONAL: dict[str, str] = {
    "insights.Scenario.name": "政策模拟方案的名称",
    "audit.ChainHead.name": "事件链的名称",
    "organisations.Organisation.name": "工会组织名称",
    "organisations.Unit.name": "参保单位名称",
    "organisations.Unit.address": "单位地址，不是个人住址",
    "members.Member.bank_card_warning_confirmed": "是否已确认卡号校验提示（是/否）",
    "accounts.ApiToken.name": "令牌用途",
    "accounts.RecoveryDevice.name": "设备名称（固定为“恢复码”），不是人名",
    "ledger.Account.name": "会计科目名称",
    "products.ProductVersion.name": "产品名称",
    "products.Period.name": "保障期名称",
    "enrollment.Roster.file_name": "上传文件的文件名",
    "enrollment.BankStatement.file_name": "上传的对账单文件名",
    "enrollment.Payment.bank_ref": "银行流水号",
    "settlements.SettlementImport.file_name": "上传文件的文件名",
    "settlements.Settlement.fixmedins_name": "医院名称",
    "claims.ReviewLevel.name": "审核级别名称",
    "claims.KeyedStay.hospital_name": "医院名称",
    "claims.ClaimDocument.file_name": "上传材料的文件名（材料本身加密保存）",
    "claims.ClaimDocument.storage_name": "加密文件的随机存储名",
    "claims.Recovery.bank_ref": "银行流水号",
    "payouts.PayoutLine.bank_ref": "银行流水号",
    "payouts.ResultFile.file_name": "银行回盘文件名",
    "payouts.PayeeBank.name": "银行名录中的银行（网点）名称",
    "payouts.PayoutRegionSetting.payer_name": "付款账户名称：协会自己的对公账户户名（ADR 0017）",
    "payouts.PayoutRegionSetting.payer_account": "付款账号：协会自己的对公账户，不是个人账户（ADR 0017）",
    "payouts.PayoutBatch.payer_name": "制单时的付款账户名称（协会对公账户，ADR 0017）",
    "payouts.PayoutBatch.payer_account": "制单时的付款账号（协会对公账户，ADR 0017）",
    "payouts.PayoutBatch.payer_bank_name": "付款账户开户行名称",
}

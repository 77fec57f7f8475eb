"""SMS templates. Providers approve templates in advance, so a message is a template code and
parameters; the texts here mirror what is registered with the provider."""

from __future__ import annotations

SIGN_NAME = "职工互助保障"

TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ENROLLED": (
        "{name}您好，您已参加{product}（{period}），保障自{start}起生效。",
        ("name", "product", "period", "start"),
    ),
    "ENROLLED_WAITING": (
        "{name}您好，您已参加{product}（{period}），保障自{start}起生效，{waiting}前为等待期。",
        ("name", "product", "period", "start", "waiting"),
    ),
    "CLAIM_SUBMITTED": (
        "{name}您好，您的{product}理赔申请（编号{claim}）已受理，我们将尽快审核。",
        ("name", "product", "claim"),
    ),
    "CLAIM_APPROVED": (
        "{name}您好，您的{product}理赔（编号{claim}）已核准，给付互助金{amount}元，"
        "将支付至您尾号{card}的银行卡。",
        ("name", "product", "claim", "amount", "card"),
    ),
    "CLAIM_RETURNED": (
        "{name}您好，您的{product}理赔（编号{claim}）需补充材料：{reason}。请联系单位经办人提交。",
        ("name", "product", "claim", "reason"),
    ),
    "CLAIM_REJECTED": (
        "{name}您好，您的{product}理赔（编号{claim}）不予给付，原因：{reason}。如有异议可提出申诉。",
        ("name", "product", "claim", "reason"),
    ),
    "CLAIM_PAID": (
        "{name}您好，互助金{amount}元已于{date}支付至您尾号{card}的银行卡（理赔编号{claim}）。",
        ("name", "amount", "date", "card", "claim"),
    ),
    "CLAIM_PAY_FAILED": (
        "{name}您好，互助金{amount}元未能支付至尾号{card}的银行卡（{reason}），"
        "请联系单位经办人或工会更正银行卡信息（理赔编号{claim}）。",
        ("name", "amount", "card", "reason", "claim"),
    ),
    "CLAIM_TOP_UP": (
        "{name}您好，您的{product}理赔（编号{claim}）因给付规则更正，补发互助金{amount}元，"
        "将支付至您尾号{card}的银行卡。",
        ("name", "product", "claim", "amount", "card"),
    ),
    "CLAIM_RECOVERY": (
        "{name}您好，您的{product}理赔（编号{claim}）因给付规则更正，多给付互助金{amount}元"
        "需予退回，请联系所在工会办理。",
        ("name", "product", "claim", "amount"),
    ),
    "CLAIM_CANCELLED": (
        "{name}您好，您的{product}理赔（编号{claim}）所依据的医保结算已退费或重新结算，"
        "尚未支付的互助金{amount}元不再支付；如有疑问请联系所在工会。",
        ("name", "product", "claim", "amount"),
    ),
    "CARE_GREETING": (
        "{name}您好，工会获悉您近期患病住院，特致慰问。互助金已按规定给付，如有困难请联系所在工会。"
        "祝早日康复！",
        ("name",),
    ),
    "PAYOUT_REQUEUED": (
        "{name}您好，您的互助金{amount}元已按更正后的银行卡（尾号{card}）重新安排支付"
        "（理赔编号{claim}）。",
        ("name", "amount", "card", "claim"),
    ),
    "VERIFY_CODE": (
        "您正在更改领取互助金的银行卡，验证码{code}，{minutes}分钟内有效。如非本人操作请勿告诉他人。",
        ("code", "minutes"),
    ),
    "TICKET_REPLY": (
        "{name}您好，您的提问（编号{ticket}）已有回复：{reply}",
        ("name", "ticket", "reply"),
    ),
    "ENROLL_REMIND": (
        "{name}您好，{unit}尚未办理{period}职工互助保障参保，参保将于{date}截止（剩余{days}天），"
        "请尽快登录平台上传花名册。",
        ("name", "unit", "period", "date", "days"),
    ),
    "AGENT_ACCOUNT": (
        "{name}您好，您的单位经办人账号已开通：用户名{username}，初始密码{password}。"
        "首次登录须修改密码，请勿告知他人。",
        ("name", "username", "password"),
    ),
    "SIGNUP_CODE": (
        "您正在注册职工互助保障会员账号，验证码{code}，{minutes}分钟内有效。如非本人操作请忽略。",
        ("code", "minutes"),
    ),
    # Claims without a settlement (docs/adr/0016): the claim's kind in words ({what}).
    "CLAIM_EVENT_SUBMITTED": (
        "{name}您好，您的{product}（{what}）申请（编号{claim}）已受理，我们将尽快审核。",
        ("name", "product", "what", "claim"),
    ),
    "CLAIM_EVENT_APPROVED": (
        "{name}您好，您的{product}（{what}）申请（编号{claim}）已核准，给付{amount}元，"
        "将支付至您尾号{card}的银行卡。",
        ("name", "product", "what", "claim", "amount", "card"),
    ),
    # A death benefit (抚恤金): told to the beneficiary ({payee}), paid to their card.
    "CLAIM_DEATH_SUBMITTED": (
        "{payee}您好，{name}的{product}身故互助金（抚恤金）申请（编号{claim}）已受理，"
        "我们将尽快审核。",
        ("payee", "name", "product", "claim"),
    ),
    "CLAIM_DEATH_APPROVED": (
        "{payee}您好，{name}的身故互助金（抚恤金，编号{claim}）已核准，给付{amount}元，"
        "将支付至您尾号{card}的银行卡。",
        ("payee", "name", "claim", "amount", "card"),
    ),
    "CLAIM_DEATH_RETURNED": (
        "{payee}您好，{name}的身故互助金申请（编号{claim}）需补充材料：{reason}。"
        "请联系工会或代办点提交。",
        ("payee", "name", "claim", "reason"),
    ),
    "CLAIM_DEATH_REJECTED": (
        "{payee}您好，{name}的身故互助金申请（编号{claim}）不予给付，原因：{reason}。"
        "如有异议可提出申诉。",
        ("payee", "name", "claim", "reason"),
    ),
    "CLAIM_DEATH_PAID": (
        "{payee}您好，{name}的身故互助金{amount}元已于{date}支付至您尾号{card}的银行卡"
        "（编号{claim}）。",
        ("payee", "name", "amount", "date", "card", "claim"),
    ),
    "CLAIM_DEATH_PAYOUT_REQUEUED": (
        "{payee}您好，{name}的身故互助金{amount}元已按更正后的银行卡（尾号{card}）重新安排支付"
        "（编号{claim}）。",
        ("payee", "name", "amount", "card", "claim"),
    ),
    "CLAIM_DEATH_PAY_FAILED": (
        "{payee}您好，{name}的身故互助金{amount}元未能支付至尾号{card}的银行卡（{reason}），"
        "请联系工会更正银行卡信息（编号{claim}）。",
        ("payee", "name", "amount", "card", "reason", "claim"),
    ),
    "CONSOLATION_APPROVED": (
        "{name}您好，工会向您发放慰问金{amount}元，将支付至您尾号{card}的银行卡。",
        ("name", "amount", "card"),
    ),
    "CONSOLATION_PAID": (
        "{name}您好，工会慰问金{amount}元已于{date}支付至您尾号{card}的银行卡。",
        ("name", "amount", "date", "card"),
    ),
}

# Parameters that are secrets (a first password, a sign-up code): kept encrypted in the outbox
# (services.seal_params), opened only to hand them to the provider, masked in every log.
SECRET_PARAMS = frozenset({"password", "code"})


class TemplateError(ValueError):
    pass


def render(template: str, params: dict[str, str]) -> str:
    """Render a template as the member will read it; refuse missing or extra parameters."""
    if template not in TEMPLATES:
        raise TemplateError(f"未知的短信模板：{template}")
    text, names = TEMPLATES[template]
    if set(params) != set(names):
        raise TemplateError(f"模板 {template} 需要参数 {', '.join(names)}")
    return f"【{SIGN_NAME}】" + text.format(**params)

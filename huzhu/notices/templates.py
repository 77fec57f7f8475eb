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
}


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

"""Forms parse and render; the services validate. Service errors land on the named fields."""

from __future__ import annotations

from typing import Any

from django import forms

from huzhu.errors import DomainError, NeedsConfirmation
from huzhu.members.models import EmploymentStatus, InsuranceType
from huzhu.organisations.models import OrgKind


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """Return the form's choice field NAME, to set its choices."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField), name
    return field


class BankSelect(forms.Select):
    """开户行 from the bank list: a plain select of “银行名称（城市）” valued by 联行号, which
    ``web/app.js`` gives a search box (``data-bank-pick``); without script it stays a select."""

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__(attrs={"data-bank-pick": "", "class": "bank-pick", **(attrs or {})})


def bank_field(label: str = "开户行") -> forms.CharField:
    """A 开户行 field holding the chosen entry's 联行号. Checked by the service
    (:func:`huzhu.payouts.banklist.pick`), whose refusal names the field in Chinese."""
    return forms.CharField(label=label, max_length=12, required=False, widget=BankSelect(),
                           help_text="从银行名录中选择（银行名称 + 城市）")


def bank_choices(form: forms.BaseForm, name: str = "bank_cnaps", *, kept_cnaps: str = "",
                 kept_name: str = "") -> None:
    """Fill the 开户行 select from the bank list; an entry the member holds that has since
    left the list stays choosable (saving unchanged keeps it)."""
    from huzhu.payouts import banklist

    options = banklist.choices()
    if kept_cnaps and kept_cnaps not in {c for c, _ in options}:
        options.insert(0, (kept_cnaps, f"{kept_name or kept_cnaps}（已不在名录中）"))
    widget = form.fields[name].widget
    assert isinstance(widget, forms.Select)
    widget.choices = [("", "— 请选择开户行 —"), *options]


class LoginForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    password = forms.CharField(label="密码", widget=forms.PasswordInput)


class ConfirmMixin(forms.Form):
    confirm_warnings = forms.BooleanField(label="我已核对，确认提交", required=False)

    def apply_error(self, exc: DomainError) -> None:
        """Show a service's refusal on the fields it names, or on the form."""
        self.warnings = getattr(self, "warnings", {})
        if isinstance(exc, NeedsConfirmation):
            self.warnings = exc.warnings
            self.add_error(None, f"{exc.message}；核对无误后请勾选“我已核对，确认提交”再提交。")
            return
        placed = False
        for name, messages in exc.field_errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)
                placed = True
        if not placed:
            self.add_error(None, exc.message)


class OrganisationForm(forms.Form):
    name = forms.CharField(label="名称", max_length=120)
    kind = forms.ChoiceField(label="类型", choices=OrgKind.choices)
    parent = forms.TypedChoiceField(label="上级组织", coerce=int, required=False)
    is_fund_region = forms.BooleanField(label="统筹区（资金统筹单位）", required=False)
    code = forms.CharField(label="组织代码", max_length=40, required=False)

    def __init__(self, *args: Any, parents: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        choice_field(self, "parent").choices = [("", "—")] + [(o.pk, o.name) for o in parents]

    def apply_error(self, exc: DomainError) -> None:
        ConfirmMixin.apply_error(self, exc)  # type: ignore[arg-type]


class UnitForm(ConfirmMixin):
    name = forms.CharField(label="单位名称", max_length=200)
    uscc = forms.CharField(label="统一社会信用代码", max_length=40)
    organisation = forms.TypedChoiceField(label="所属工会", coerce=int)
    address = forms.CharField(label="地址", max_length=200, required=False)
    field_order = ["name", "uscc", "organisation", "address", "confirm_warnings"]

    def __init__(self, *args: Any, organisations: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        choice_field(self, "organisation").choices = [(o.pk, o.name) for o in organisations]


class AgentForm(forms.Form):
    name = forms.CharField(label="经办人姓名", max_length=60)
    phone = forms.CharField(label="手机号", max_length=20)

    def apply_error(self, exc: DomainError) -> None:
        ConfirmMixin.apply_error(self, exc)  # type: ignore[arg-type]


class MemberForm(ConfirmMixin):
    name = forms.CharField(label="姓名", max_length=60)
    id_number = forms.CharField(label="身份证号", max_length=30)
    phone = forms.CharField(label="手机号", max_length=20, required=False)
    bank_card = forms.CharField(label="银行卡号", max_length=30, required=False)
    bank_cnaps = bank_field()
    insurance_type = forms.ChoiceField(label="基本医保类型", choices=InsuranceType.choices)
    employment_status = forms.ChoiceField(label="就业状态", choices=EmploymentStatus.choices)
    unit = forms.TypedChoiceField(label="参保单位", coerce=int)
    is_union_member = forms.BooleanField(label="工会会员", required=False, initial=True)
    is_hardship = forms.BooleanField(label="困难职工", required=False)
    is_model_worker = forms.BooleanField(label="劳模/工匠", required=False)
    is_new_form_worker = forms.BooleanField(label="新就业形态劳动者", required=False)
    field_order = [
        "name", "id_number", "phone", "bank_card", "bank_cnaps", "insurance_type",
        "employment_status", "unit", "is_union_member", "is_hardship", "is_model_worker",
        "is_new_form_worker", "confirm_warnings",
    ]

    def __init__(self, *args: Any, units: Any = (), existing: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choice_field(self, "unit").choices = [(u.pk, u.name) for u in units]
        bank_choices(self, kept_cnaps=getattr(existing, "bank_cnaps", ""),
                     kept_name=getattr(existing, "bank_name", ""))
        if existing is not None and existing.bank_name and not existing.bank_cnaps:
            self.fields["bank_cnaps"].help_text = (
                f"原登记开户行“{existing.bank_name}”不在银行名录中：请从名录中选择"
                "（不选则保留原登记，发放前由工作人员选定）")
        if existing is not None:
            from huzhu.pii import masking

            masks = {"id_number": masking.mask_id_number, "phone": masking.mask_phone,
                     "bank_card": masking.mask_bank_card}
            for name, mask in masks.items():
                field = self.fields[name]
                field.required = False
                current = getattr(existing, name) or ""
                field.help_text = "留空则保持不变"
                field.widget.attrs["placeholder"] = (mask(current) if current else "") + "（留空不变）"

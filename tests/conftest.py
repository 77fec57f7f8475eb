"""The persona world shared by the suite.

广西 (the fund region) has two cities. In 南宁 → 青秀区 → 青秀区机关基层工会 sits unit A
(南宁示范机械厂), whose agent is 李四 and whose members are 张三 and 陈八. 王五 reviews for the
青秀区 county union. 柳州 → 城中区 holds unit B with member 孙七; 赵六 works for the 柳州 city
union and must see none of 南宁's units or members. 钱九 is the association's finance officer at
the province; 周审计, 吴安全 and 郑系统 are the three separated administrators. ``bureau`` is the
medical insurance bureau's interface account of the 广西 fund region.

A second fund region, 北海 (a city pooling its own fund under the province), holds unit C
(北海港务公司) with member 周十; ``bureau_b`` is its bureau interface, 冯出纳 its finance officer
and 蒋县 a county clerk of its 海城区.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest

from huzhu.demo.identities import bank_card, resident_id, social_credit_code

PASSWORD = "Huzhu-Test-2026!"


@dataclass
class World:
    province: Any
    city_a: Any
    county_a: Any
    grassroots_a: Any
    city_b: Any
    county_b: Any
    grassroots_b: Any
    unit_a: Any
    unit_b: Any
    zhangsan: Any
    chenba: Any
    sunqi: Any
    lisi: Any
    wangwu: Any
    zhaoliu: Any
    qianjiu: Any
    zhangsan_user: Any
    auditor: Any
    security: Any
    sysadmin: Any
    agent_record: Any
    bureau: Any
    region_b: Any
    county_rb: Any
    unit_c: Any
    zhoushi: Any
    bureau_b: Any
    finance_b: Any
    clerk_b: Any

    def ids(self) -> dict[str, str]:
        return {
            "zhangsan": self.zhangsan.id_number,
            "chenba": self.chenba.id_number,
            "sunqi": self.sunqi.id_number,
        }


ZHANGSAN_ID = resident_id("450103", datetime.date(1980, 5, 17), 31)
CHENBA_ID = resident_id("450103", datetime.date(1990, 2, 8), 42)
SUNQI_ID = resident_id("450202", datetime.date(1975, 11, 30), 13)
ZHOUSHI_ID = resident_id("450502", datetime.date(1985, 7, 1), 27)


def build_world() -> World:
    from huzhu.accounts.models import User
    from huzhu.accounts.roles import Role
    from huzhu.members.services import MemberInput, member_create
    from huzhu.organisations.models import OrgKind
    from huzhu.organisations.services import agent_create, org_create, unit_create

    province = org_create(actor=None, name="广西壮族自治区总工会", kind=OrgKind.PROVINCE,
                          parent=None, is_fund_region=True)
    city_a = org_create(actor=None, name="南宁市总工会", kind=OrgKind.CITY, parent=province)
    county_a = org_create(actor=None, name="青秀区总工会", kind=OrgKind.COUNTY, parent=city_a)
    grassroots_a = org_create(actor=None, name="青秀区机关基层工会", kind=OrgKind.GRASSROOTS,
                              parent=county_a)
    city_b = org_create(actor=None, name="柳州市总工会", kind=OrgKind.CITY, parent=province)
    county_b = org_create(actor=None, name="城中区总工会", kind=OrgKind.COUNTY, parent=city_b)
    grassroots_b = org_create(actor=None, name="城中区企业基层工会", kind=OrgKind.GRASSROOTS,
                              parent=county_b)
    unit_a = unit_create(actor=None, name="南宁示范机械厂", uscc=social_credit_code("450103", 1),
                         organisation=grassroots_a)
    unit_b = unit_create(actor=None, name="柳州钢圈制造公司", uscc=social_credit_code("450202", 2),
                         organisation=grassroots_b)
    zhangsan = member_create(actor=None, data=MemberInput(
        name="张三", id_number=ZHANGSAN_ID, phone="13812341234", bank_card=bank_card(3029),
        bank_name="中国工商银行南宁分行", unit=unit_a))
    chenba = member_create(actor=None, data=MemberInput(
        name="陈八", id_number=CHENBA_ID, phone="13912345678", unit=unit_a, is_hardship=True))
    sunqi = member_create(actor=None, data=MemberInput(
        name="孙七", id_number=SUNQI_ID, phone="13712345678", bank_card=bank_card(4455),
        unit=unit_b))
    agent_record = agent_create(actor=None, unit=unit_a, name="李四", phone="13612345678")
    region_b = org_create(actor=None, name="北海市总工会", kind=OrgKind.CITY, parent=province,
                          is_fund_region=True)
    county_rb = org_create(actor=None, name="海城区总工会", kind=OrgKind.COUNTY, parent=region_b)
    grassroots_rb = org_create(actor=None, name="海城区企业基层工会", kind=OrgKind.GRASSROOTS,
                               parent=county_rb)
    unit_c = unit_create(actor=None, name="北海港务公司", uscc=social_credit_code("450502", 3),
                         organisation=grassroots_rb)
    zhoushi = member_create(actor=None, data=MemberInput(
        name="周十", id_number=ZHOUSHI_ID, phone="13512345678", bank_card=bank_card(7788),
        unit=unit_c))

    def user(username: str, role: str, **kw: Any) -> Any:
        return User.objects.create_user(username=username, password=PASSWORD, role=role, **kw)

    return World(
        province=province, city_a=city_a, county_a=county_a, grassroots_a=grassroots_a,
        city_b=city_b, county_b=county_b, grassroots_b=grassroots_b,
        unit_a=unit_a, unit_b=unit_b, zhangsan=zhangsan, chenba=chenba, sunqi=sunqi,
        lisi=user("lisi", Role.AGENT, unit=unit_a, display_name="李四"),
        wangwu=user("wangwu", Role.REVIEWER, organisation=county_a, display_name="王五"),
        zhaoliu=user("zhaoliu", Role.CITY_STAFF, organisation=city_b, display_name="赵六"),
        qianjiu=user("qianjiu", Role.FINANCE, organisation=province, display_name="钱九"),
        zhangsan_user=user("zhangsan", Role.MEMBER, member=zhangsan, display_name="张三"),
        auditor=user("zhou", Role.AUDIT_ADMIN, organisation=province, display_name="周审计"),
        security=user("wu", Role.SECURITY_ADMIN, organisation=province, display_name="吴安全"),
        sysadmin=user("zheng", Role.SYSTEM_ADMIN, organisation=province, display_name="郑系统"),
        agent_record=agent_record,
        bureau=user("bureau-gx", Role.BUREAU_INTERFACE, organisation=province,
                    display_name="广西医保数据接口"),
        region_b=region_b, county_rb=county_rb, unit_c=unit_c, zhoushi=zhoushi,
        bureau_b=user("bureau-bh", Role.BUREAU_INTERFACE, organisation=region_b,
                      display_name="北海医保数据接口"),
        finance_b=user("fengchuna", Role.FINANCE, organisation=region_b, display_name="冯出纳"),
        clerk_b=user("jiangxian", Role.COUNTY_STAFF, organisation=county_rb,
                     display_name="蒋县"),
    )


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "huzhu.accounts.hashers.FirstPasswordHasher"]


@pytest.fixture(autouse=True)
def _own_files(settings: Any, tmp_path_factory: Any) -> None:
    """Each test writes its files (rosters, bank files, claim documents, the SMS log) in a
    directory of its own, as a fresh installation would: nothing one test leaves behind (or a
    key rotation re-seals) reaches another, in this run or the next."""
    var = tmp_path_factory.mktemp("var")
    settings.VAR_DIR = var
    settings.MEDIA_ROOT = var / "media"
    settings.DOCUMENTS_DIR = var / "documents"


def pass_second_factor(client: Any, user: Any) -> None:
    """Mark the client's logged-in session as having shown the second factor, as django-otp
    does after a right code: give the user a confirmed TOTP device (once) and put its id in the
    session. Tests of the second factor itself log in through the real pages instead."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="测试令牌", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(autouse=True)
def _force_login_passes_second_factor(monkeypatch: Any) -> None:
    """``client.force_login(user)`` and ``client.login(...)`` in tests stand for a finished
    login: for staff (who must show a second factor, TRUST S-05) they also mark the session
    verified, through :func:`pass_second_factor`. Without this every page test of a staff user
    would meet the second-factor page. The real path (the login form, then the code page) is
    what tests/web/test_two_factor.py and the browser tests use; they never rely on this."""
    from django.test import Client

    from huzhu.accounts.models import User
    from huzhu.accounts.second_factor import required_by_role

    original_force_login = Client.force_login
    original_login = Client.login

    def force_login(self: Any, user: Any, backend: Any = None) -> None:
        original_force_login(self, user, backend)
        if required_by_role(user):
            pass_second_factor(self, user)

    def login(self: Any, **credentials: Any) -> bool:
        done = original_login(self, **credentials)
        if done:
            user = User.objects.get(pk=self.session["_auth_user_id"])
            if required_by_role(user):
                pass_second_factor(self, user)
        return done

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "login", login)


def totp_code(device: Any, *, step_offset: int | None = None) -> str:
    """The code the user's authenticator app shows now for ``device`` (a TOTPDevice), as a
    phone would compute it from the key; by default the earliest code the device still
    accepts (a code at or before its ``last_t`` is refused as used)."""
    import time

    from django_otp.oath import TOTP, hotp

    device.refresh_from_db()
    clock = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    clock.time = time.time()
    now_t = clock.t()
    t = now_t + step_offset if step_offset is not None else max(
        now_t - device.tolerance, device.last_t + 1)
    return f"{hotp(device.bin_key, t, digits=device.digits):0{device.digits}d}"


def login_through_pages(client: Any, username: str, password: str = PASSWORD) -> Any:
    """Log in as a person does: the login form, then the second-factor page (enrolling an
    authenticator on the first login). Returns the last response."""
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response
    return second_step_through_pages(client, username)


def second_step_through_pages(client: Any, username: str) -> Any:
    """The second-factor page after a password login: enrol on the first time, else a code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    response = client.get("/account/verify/")
    if response.status_code == 302 and response["Location"].startswith("/account/enrol/"):
        assert client.get("/account/enrol/").status_code == 200
        device = TOTPDevice.objects.get(user__username=username, confirmed=False)
        response = client.post("/account/enrol/", {"code": totp_code(device)})
        assert response.status_code == 200 and "recovery-codes" in response.content.decode()
    elif response.status_code == 200:
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        response = client.post("/account/verify/", {"code": totp_code(device)})
        assert response.status_code == 302, response
    return response

from django.urls import path

from huzhu.accounts import views as account_views
from huzhu.accounts import views_staff
from huzhu.members import views as member_views
from huzhu.organisations import views as org_views

from . import audit_views, views, views_security

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views_security.account_security, name="account_security"),
    path("account/verify/", views_security.second_step, name="second_step"),
    path("account/enrol/", views_security.enrol, name="enrol"),
    path("account/recovery-codes/", views_security.recovery_codes_renew,
         name="recovery_codes_renew"),
    path("account/password/", views_security.password_change_view, name="password_change"),
    path("security/second-factor/", views_security.second_factor_admin,
         name="second_factor_admin"),
    path("security/second-factor/<int:pk>/reset/", views_security.second_factor_reset_view,
         name="second_factor_reset"),
    path("organisations/", org_views.org_tree, name="org_tree"),
    path("organisations/new/", org_views.org_edit, name="org_create"),
    path("organisations/<int:pk>/", org_views.org_detail, name="org_detail"),
    path("organisations/<int:pk>/edit/", org_views.org_edit, name="org_edit"),
    path("units/", org_views.unit_list, name="unit_list"),
    path("units/new/", org_views.unit_edit, name="unit_create"),
    path("units/<int:pk>/", org_views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", org_views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/agents/", org_views.agent_add, name="agent_add"),
    path("members/", member_views.member_list, name="member_list"),
    path("members/export.xlsx", member_views.member_export, name="member_export"),
    path("members/new/", member_views.member_edit, name="member_create"),
    path("members/<int:pk>/", member_views.member_detail, name="member_detail"),
    path("members/<int:pk>/edit/", member_views.member_edit, name="member_edit"),
    path("members/<int:pk>/reveal/<str:field>/", member_views.member_reveal_view,
         name="member_reveal"),
    path("audit/events/", audit_views.event_list, name="event_list"),
    path("audit/events/export.xlsx", audit_views.event_export, name="event_export"),
    path("audit/events/<int:seq>/", audit_views.event_detail, name="event_detail"),
    path("audit/logins/", audit_views.login_log, name="login_log"),
    path("audit/logins/export.xlsx", audit_views.login_export, name="login_export"),
    path("tokens/", account_views.token_list, name="token_list"),
    path("tokens/new/", account_views.token_new, name="token_new"),
    path("tokens/<int:pk>/revoke/", account_views.token_revoke_view, name="token_revoke"),
    path("signup/", views_staff.signup, name="signup"),
    path("users/", views_staff.staff_accounts, name="staff_accounts"),
    path("users/<int:pk>/active/", views_staff.staff_active, name="staff_active"),
    path("users/agents/template.xlsx", views_staff.agents_template_view, name="agents_template"),
    path("users/agents/bulk/", views_staff.agents_bulk_view, name="agents_bulk"),
    path("security/accounts/", views_staff.security_accounts, name="security_accounts"),
    path("security/accounts/<int:pk>/unlock/", views_staff.security_unlock,
         name="security_unlock"),
    path("security/accounts/<int:pk>/reset/", views_staff.security_reset,
         name="security_reset"),
    path("users/roles/", account_views.user_roles, name="user_roles"),
    path("users/<int:pk>/role/", account_views.user_role_set, name="user_role_set"),
]

from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "huzhu.organisations"
    label = "organisations"
    verbose_name = "工会组织与参保单位"

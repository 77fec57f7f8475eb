from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "huzhu.products"
    label = "products"
    verbose_name = "保障产品与保障期"

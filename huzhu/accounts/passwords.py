"""Password rules with Chinese messages, whatever language the browser asks for.

Django's own validators (length, common list, all digits, likeness to the user's names) with their
messages in Chinese, and one more: a password must mix three of the four character classes.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation as django_validation
from django.core.exceptions import ValidationError


class MinimumLengthValidator(django_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return f"密码太短：至少需要 {self.min_length} 个字符。"

    def get_help_text(self) -> str:
        return f"密码至少 {self.min_length} 个字符。"


class CommonPasswordValidator(django_validation.CommonPasswordValidator):
    def get_error_message(self) -> str:
        return "密码过于常见，容易被猜到。"

    def get_help_text(self) -> str:
        return "密码不能是常用密码。"


class NumericPasswordValidator(django_validation.NumericPasswordValidator):
    def get_error_message(self) -> str:
        return "密码不能全是数字。"

    def get_help_text(self) -> str:
        return "密码不能全是数字。"


class UserAttributeSimilarityValidator(django_validation.UserAttributeSimilarityValidator):
    """Also compares with the user's display name."""

    def __init__(self, user_attributes: tuple[str, ...] = (
            *django_validation.UserAttributeSimilarityValidator.DEFAULT_USER_ATTRIBUTES,
            "display_name"), max_similarity: float = 0.7) -> None:
        super().__init__(user_attributes=user_attributes, max_similarity=max_similarity)

    def get_error_message(self) -> str:
        return "密码与%(verbose_name)s过于相似。"

    def get_help_text(self) -> str:
        return "密码不能与用户名、姓名等个人信息相似。"


class CharacterClassesValidator:
    """At least ``min_classes`` of: lower-case letters, upper-case letters, digits, others."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    @staticmethod
    def classes_in(password: str) -> int:
        return sum((
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.islower() or c.isupper() or c.isdigit()) for c in password),
        ))

    def validate(self, password: str, user: Any = None) -> None:
        if self.classes_in(password) < self.min_classes:
            raise ValidationError(self.get_error_message(), code="password_too_simple")

    def get_error_message(self) -> str:
        return (f"密码须包含小写字母、大写字母、数字、其他符号四类中的至少 "
                f"{self.min_classes} 类。")

    def get_help_text(self) -> str:
        return self.get_error_message()

"""``{% manages_a_project user as flag %}``: whether the navigation shows the Projects link."""
from django import template

from labeling.models import Membership

register = template.Library()


@register.simple_tag
def manages_a_project(user) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or Membership.objects.filter(user=user, role=Membership.Role.MANAGER).exists()

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from knox.models import AuthToken

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User


class ChargerModelInline(admin.TabularInline):
    model = ChargerModel
    extra = 0
    fields = ["name", "current_type", "connectors", "max_power_kw", "outlet"]
    show_change_link = True


class FirmwareVersionInline(admin.TabularInline):
    model = FirmwareVersion
    extra = 0
    fields = ["version", "release_date", "notes"]


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "website", "contact_email"]
    search_fields = ["name", "country"]
    inlines = [ChargerModelInline]


@admin.register(ChargerModel)
class ChargerModelAdmin(admin.ModelAdmin):
    list_display = ["name", "manufacturer", "current_type", "connectors", "max_power_kw", "outlet"]
    list_filter = ["current_type", "outlet", "manufacturer"]
    search_fields = ["name", "manufacturer__name"]
    list_select_related = ["manufacturer"]
    inlines = [FirmwareVersionInline]


@admin.register(FirmwareVersion)
class FirmwareVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "charger_model", "release_date"]
    list_filter = ["charger_model__manufacturer"]
    search_fields = ["version", "charger_model__name"]
    list_select_related = ["charger_model__manufacturer"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "role", "manufacturer", "is_active"]
    list_filter = ["role", "manufacturer", "is_active"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("Portal role", {"fields": ("role", "manufacturer")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Portal role", {"fields": ("role", "manufacturer")}),
    )


# API tokens: knox's own admin adds tokens and shows the new one in a message; here the
# admin lists them (digest prefix only, never usable) and can delete (revoke) them.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ["token_key", "user", "created", "expiry"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["token_key", "user", "created", "expiry"]
    readonly_fields = ["token_key", "user", "created", "expiry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

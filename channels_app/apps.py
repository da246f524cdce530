from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Numbers and channels"

    def ready(self) -> None:
        from channels_app import audit, checks  # noqa: F401  (signal handlers, system checks)

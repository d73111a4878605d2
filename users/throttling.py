from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class AuthRateThrottle(ScopedRateThrottle):
    """Per-client limit on register and login, at the `auth` rate (OVERWORLD_THROTTLE_AUTH).

    DRF copies the rates onto the class when it is imported; reading them per request keeps
    the throttle in step with the settings (and with `override_settings` in tests).
    """

    scope_attr = "throttle_scope"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

"""django-csp's middleware, with the header built once per response instead of twice.

django-csp 4.0's CSPMiddleware.process_response builds the enforced policy and then, in
full again, the report-only one (``build_policy(..., report_only=True)``), which this site
never configures, so every response paid two builds for one header. Here:

* the site's policy (settings.CONTENT_SECURITY_POLICY, no per-view change, no nonce) is
  built once per process and reused; a change of the setting (tests) builds it again;
* a view that changes it (``@csp_replace`` on the run page, the share pages) gets one
  build, for its response;
* the report-only header is built only when there is one to build
  (CONTENT_SECURITY_POLICY_REPORT_ONLY, or a view's ``@csp_*`` report-only decorator).

Exemptions (``@csp_exempt``), EXCLUDE_URL_PREFIXES, a header the view set itself, the debug
pages and the "nonce read after the header" guard behave as in django-csp.
"""

from __future__ import annotations

import http.client
from dataclasses import asdict
from typing import TYPE_CHECKING

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

_site_policy: dict[str, str] = {}  # "policy": the site's header, once built


@receiver(setting_changed)
def _forget_policy(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _site_policy.clear()


def _excluded(request: HttpRequest, setting: str) -> bool:
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return request.path_info.startswith(tuple(prefixes))


class CSPMiddleware(BaseCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        debug_codes = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
        if settings.DEBUG and response.status_code in debug_codes:
            return response

        if (
            HEADER not in response
            and not getattr(response, "_csp_exempt", False)
            and not _excluded(request, "CONTENT_SECURITY_POLICY")
        ):
            policy = self._policy(request, response)
            if policy:
                response[HEADER] = policy

        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or any(
            getattr(response, name, None) is not None
            for name in ("_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
        )
        if (
            report_only
            and HEADER_REPORT_ONLY not in response
            and not getattr(response, "_csp_exempt_ro", False)
            and not _excluded(request, "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        ):
            parts = self.get_policy_parts(request=request, response=response, report_only=True)
            policy = build_policy(**asdict(parts), report_only=True)
            if policy:
                response[HEADER_REPORT_ONLY] = policy

        # As django-csp: reading request.csp_nonce after the header was written is an error.
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

    def _policy(self, request: HttpRequest, response: HttpResponseBase) -> str:
        parts = self.get_policy_parts(request=request, response=response)
        if parts.config is None and parts.update is None and parts.replace is None is parts.nonce:
            if "policy" not in _site_policy:
                _site_policy["policy"] = build_policy()
            return _site_policy["policy"]
        return build_policy(**asdict(parts))

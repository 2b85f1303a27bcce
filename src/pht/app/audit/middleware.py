"""Every refused request (401, 403, 404 of a known address, 429) is audited as ``access.denied``.

Whatever refused it (a view's 404 for another practice's patient, the permission table's 403,
the API's 401/404/422-free refusals, django-axes' lock-out, the address throttle), the entry
says who tried (or which user name, for a lock-out), what (method, address, the view and its
arguments) and the answer. A refusal already audited where it happened is not written twice.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from pht.app.audit.log import record_denied

#: Answers that mean "refused".
REFUSED = frozenset({401, 403, 404, 429})


class DeniedAuditMiddleware:
    """Write ``access.denied`` for a refused request (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code in REFUSED and not getattr(request, "_pht_denied_audited", False):
            self._audit(request, response)
        return response

    def _audit(self, request: HttpRequest, response: HttpResponse) -> None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if match is None and not signed_in and response.status_code == 404:
            return  # an unknown address asked anonymously: nothing of ours was refused
        detail: dict[str, object] = {"status": response.status_code, "method": request.method}
        if match is not None:
            detail["view"] = match.view_name or match.url_name or ""
            detail["tried"] = {k: str(v) for k, v in match.kwargs.items()}
        patient_uid = match.kwargs.get("uid") if match is not None else None
        tried_user = ""
        if not signed_in and request.method == "POST" and response.status_code in (403, 429):
            tried_user = str(request.POST.get("username", ""))[:150]
            if tried_user:
                detail["username"] = tried_user
        record_denied(
            user=user if signed_in else None,
            request=request,
            patient_uid=patient_uid,
            detail=detail,
            username=tried_user,
        )

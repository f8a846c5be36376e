"""FLORA's error envelope: `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

from django.http import JsonResponse


class ApiError(Exception):
    """Raised anywhere in a request; the API decorator turns it into the error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        error: dict = {"code": self.code, "message": self.message}
        if self.fields is not None:
            error["fields"] = self.fields
        response = JsonResponse({"error": error}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def validation_error(fields: list[dict[str, str]]) -> ApiError:
    """400 input_validation_error, one `fields` entry per problem (message as FLORA's)."""
    message = "; ".join(f"{item['field']}: {item['message']}" for item in fields)
    return ApiError(400, "input_validation_error", message, fields=fields)
